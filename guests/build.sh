#!/bin/sh
# Builds one of Olive's period-software guests from Debian 12 i386 packages, or reuses it.
#
#   guests/build.sh doom|xdesk      # prints the guest's directory on stdout
#
# The directory is $OLIVE_GUESTS_CACHE (default ~/.cache/olive/guests)/<name>-<key>, where
# <key> hashes every input: this script and the files under guests/common and guests/<name>
# (package lists, init scripts, X configuration, machine.toml). It holds vmlinuz,
# initrd.img, disk.qcow2 (ext4 root, made with mke2fs -d: no mounting), machine.toml (the
# hardware the guest expects and its catalog metadata) and manifest.txt (package versions).
# The .deb files are kept in <cache>/debs, shared by all guests and builds.
# Needs root (mmdebstrap's root mode); installs mmdebstrap, e2fsprogs and qemu-utils if
# missing.
set -eu
NAME=${1:?usage: build.sh doom|xdesk}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$HERE/$NAME/packages" ] || { echo "build.sh: no guest named $NAME" >&2; exit 2; }
CACHE=${OLIVE_GUESTS_CACHE:-${HOME:-/root}/.cache/olive/guests}
MIRROR=${OLIVE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
ARCH=i386
export LC_ALL=C
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

log() { echo "olive-guests[$NAME]: $*" >&2; }

# ------------------------------------------------------------------ cache key
inputs() {
    echo "suite=$SUITE arch=$ARCH"
    (cd "$HERE" && find build.sh common "$NAME" -type f | sort | while read -r f; do
        echo "$f $(sha256sum "$f" | cut -d' ' -f1)"
    done)
}
KEY=$(inputs | sha256sum | cut -c1-16)
OUT="$CACHE/$NAME-$KEY"
mkdir -p "$CACHE/debs"

done_already() {
    [ -f "$OUT/stamp" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ] && [ -f "$OUT/disk.qcow2" ]
}
if done_already; then
    log "up to date: $OUT"
    echo "$OUT"
    exit 0
fi

# One build per guest at a time (tests and xtask may start at once).
exec 9>"$CACHE/$NAME.lock"
flock 9
if done_already; then
    echo "$OUT"
    exit 0
fi

# ------------------------------------------------------------------ tools
missing=""
command -v mmdebstrap >/dev/null 2>&1 || missing="$missing mmdebstrap"
command -v mke2fs >/dev/null 2>&1 || [ -x /usr/sbin/mke2fs ] || missing="$missing e2fsprogs"
command -v qemu-img >/dev/null 2>&1 || missing="$missing qemu-utils"
if [ -n "$missing" ]; then
    log "installing:$missing"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2
fi
MKE2FS=$(command -v mke2fs || echo /usr/sbin/mke2fs)

# ------------------------------------------------------------------ root file system
START=$(date +%s)
WORK="$CACHE/.work-$NAME-$$"
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT INT TERM
PKGS=$(cat "$HERE/common/packages" "$HERE/$NAME/packages" | sed 's/#.*//' | tr -s ' \n' ',' | sed 's/^,//; s/,$//')

# Kernel modules nobody here needs (network cards: guests run with -nic none; Wi-Fi, cameras,
# other GPUs, ...): a smaller disk.
TRIM="drivers/net drivers/media drivers/infiniband drivers/staging drivers/isdn drivers/iio
drivers/comedi drivers/mtd drivers/target drivers/gpu/drm/amd drivers/gpu/drm/nouveau
drivers/gpu/drm/radeon drivers/gpu/drm/i915 drivers/bluetooth net sound/soc fs/btrfs fs/xfs
fs/ocfs2 fs/gfs2 fs/nfs fs/nfsd fs/ceph fs/smb fs/f2fs"
# Mesa's GL drivers and LLVM (175 MB, pulled in by xserver-xorg-core): neither X driver here
# renders with GL (qxl does not; modesetting runs with AccelMethod none, Doom with SDL's
# software renderer), so X's GLX simply reports no direct rendering.
DROP="usr/lib/i386-linux-gnu/dri usr/lib/i386-linux-gnu/libLLVM-15.so* usr/lib/i386-linux-gnu/libz3.so*
usr/share/games/doom/freedoom2.wad"
log "mmdebstrap $SUITE $ARCH: $PKGS"
mmdebstrap --quiet --mode=root --architectures=$ARCH --variant=minbase --components=main \
    --include="$PKGS" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in $CACHE/debs /var/cache/apt/archives/" \
    --customize-hook="sync-out /var/cache/apt/archives $CACHE/debs" \
    --customize-hook="cp -a $HERE/common/rootfs/. \"\$1\"/" \
    --customize-hook="cp -a $HERE/$NAME/rootfs/. \"\$1\"/" \
    --customize-hook='ln -sf /bin/busybox "$1"/etc/olive/init' \
    --customize-hook="for d in $(echo $TRIM); do rm -rf \"\$1\"/lib/modules/*/kernel/\$d; done" \
    --customize-hook="for d in $(echo $DROP); do rm -rf \"\$1\"/\$d; done" \
    --customize-hook='for k in "$1"/lib/modules/*; do chroot "$1" depmod -a "${k##*/}"; done' \
    --customize-hook='printf "virtio_pci\nvirtio_blk\next4\n" >"$1"/etc/initramfs-tools/modules' \
    --customize-hook='printf "MODULES=list\nCOMPRESS=gzip\n" >"$1"/etc/initramfs-tools/conf.d/olive' \
    --customize-hook='chroot "$1" update-initramfs -u -k all' \
    --skip=download/empty \
    "$SUITE" "$WORK/root" "$MIRROR" >&2
R="$WORK/root"
mkdir -p "$WORK/out"
cp "$R"/boot/vmlinuz-* "$WORK/out/vmlinuz"
cp "$R"/boot/initrd.img-* "$WORK/out/initrd.img"
KVER=$(ls "$R/lib/modules" | head -n1)
dpkg-query --admindir="$R/var/lib/dpkg" -W -f '${Package} ${Version}\n' >"$WORK/packages.txt"
rm -f "$R"/boot/initrd.img-* "$R"/boot/vmlinuz-*
rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin \
    "$R"/var/log/*.log "$R"/var/cache/debconf/*-old

# ------------------------------------------------------------------ disk image
USED=$(du -sm "$R" | cut -f1)
SIZE=$((USED + USED / 4 + 128))
"$MKE2FS" -q -t ext4 -L "olive-$NAME" -U "$(echo "$KEY" | sed 's/^\(........\)\(....\)\(....\).*/\1-\2-\3-0000-000000000000/')" \
    -E root_owner=0:0,hash_seed=00000000-0000-0000-0000-000000000000 -d "$R" \
    "$WORK/disk.raw" "${SIZE}M"
qemu-img convert -q -f raw -O qcow2 "$WORK/disk.raw" "$WORK/out/disk.qcow2"
rm -f "$WORK/disk.raw"

# ------------------------------------------------------------------ description
CMDLINE="root=/dev/vda rw init=/etc/olive/init console=tty0 quiet vt.global_cursor_default=0 consoleblank=0"
{
    cat "$HERE/$NAME/machine.toml"
    echo "# Direct kernel boot of vmlinuz + initrd.img with the disk as virtio disk 0."
    echo "kernel_cmdline = \"$CMDLINE\""
} >"$WORK/out/machine.toml"
{
    echo "# Olive guest $NAME"
    echo "key $KEY"
    echo "suite $SUITE $ARCH"
    echo "kernel $KVER"
    echo "root-used-mb $USED"
    echo "disk-size-mb $SIZE"
    echo "build-seconds $(($(date +%s) - START))"
    inputs | sed 's/^/input /'
    sed 's/^/package /' "$WORK/packages.txt"
} >"$WORK/out/manifest.txt"
echo "$KEY" >"$WORK/out/stamp"
rm -rf "$OUT"
mv "$WORK/out" "$OUT"
log "built $OUT in $(($(date +%s) - START)) s: $(du -sh "$OUT/disk.qcow2" | cut -f1) disk.qcow2"
echo "$OUT"
