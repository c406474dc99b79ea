#!/bin/sh
# Builds Olive's test guest: the Debian kernel, busybox-static, the kernel's qxl/AC97/OSS/USB-HID
# modules and our static program (olive-guest.c), packed as a reproducible initramfs.
#
#   tests/guest/build.sh OUTDIR
#
# Outputs OUTDIR/vmlinuz, OUTDIR/initrd.img, OUTDIR/manifest.txt. The .deb files are cached in
# OUTDIR/cache (override with OLIVE_GUEST_CACHE); the whole build is skipped when OUTDIR/stamp
# matches (hash of this script, the program sources and the resolved package versions).
# Needs root only to apt-get install missing tools (cpio kmod gcc libc6-dev) on a fresh machine.
set -eu

OUT=${1:?usage: build.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CACHE=${OLIVE_GUEST_CACHE:-$OUT/cache}
export LC_ALL=C
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

log() { echo "olive-guest: $*" >&2; }

# ------------------------------------------------------------------ tools
missing=""
command -v cpio >/dev/null 2>&1 || missing="$missing cpio"
command -v depmod >/dev/null 2>&1 || [ -x /usr/sbin/depmod ] || [ -x /sbin/depmod ] || missing="$missing kmod"
command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
[ -f /usr/include/stdio.h ] || missing="$missing libc6-dev"
[ -f /usr/include/linux/input.h ] || missing="$missing linux-libc-dev"
command -v gzip >/dev/null 2>&1 || missing="$missing gzip"
if [ -n "$missing" ]; then
    log "installing:$missing"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2
fi
DEPMOD=$(command -v depmod || echo /usr/sbin/depmod)
[ -x "$DEPMOD" ] || DEPMOD=/sbin/depmod

# ------------------------------------------------------------------ package versions
resolve_kernel() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }'
}
KPKG=$(resolve_kernel || true)
if [ -z "$KPKG" ]; then
    log "apt lists missing; running apt-get update"
    apt-get update -q >&2
    KPKG=$(resolve_kernel)
fi
[ -n "$KPKG" ] || { log "cannot resolve the kernel package from linux-image-amd64"; exit 1; }
candidate() { apt-cache policy "$1" | awk '$1 == "Candidate:" { print $2; exit }'; }
KPKG_VER=$(candidate "$KPKG")
BB_VER=$(candidate busybox-static)
KVER=${KPKG#linux-image-}
GCC_VER=$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)

SRC_FILES="build.sh olive-guest.c font.h init.sh"
STAMP=$( {
    for f in $SRC_FILES; do sha256sum "$HERE/$f" | cut -d' ' -f1; done
    echo "$KPKG=$KPKG_VER busybox-static=$BB_VER gcc=$GCC_VER"
} | sha256sum | cut -d' ' -f1)

if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$STAMP" ] &&
    [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ] && [ -f "$OUT/manifest.txt" ]; then
    log "up to date ($KPKG $KPKG_VER, busybox-static $BB_VER)"
    exit 0
fi
rm -f "$OUT/stamp"

# ------------------------------------------------------------------ download (cached)
fetch() { # package version -> prints the .deb path
    dir="$CACHE/debs/$1_$2"
    deb=$(ls "$dir"/*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$deb" ]; then
        mkdir -p "$dir.tmp"
        (cd "$dir.tmp" && apt-get download -q -o APT::Sandbox::User=root "$1=$2" >&2)
        rm -rf "$dir" && mv "$dir.tmp" "$dir"
        deb=$(ls "$dir"/*.deb | head -n1)
    fi
    echo "$deb"
}
log "using $KPKG $KPKG_VER, busybox-static $BB_VER"
KDEB=$(fetch "$KPKG" "$KPKG_VER")
BBDEB=$(fetch busybox-static "$BB_VER")

# ------------------------------------------------------------------ unpack
WORK="$OUT/work"
rm -rf "$WORK"
mkdir -p "$WORK/kroot" "$WORK/bb" "$WORK/root"
dpkg-deb -x "$KDEB" "$WORK/kroot"
dpkg-deb -x "$BBDEB" "$WORK/bb"
"$DEPMOD" -b "$WORK/kroot" "$KVER"
MODDIR="$WORK/kroot/lib/modules/$KVER"

# ------------------------------------------------------------------ module selection
# name[:params]; loaded in dependency order (modules.dep closure), params passed to insmod.
WANTED="drm drm_kms_helper ttm drm_ttm_helper qxl drm_vram_helper bochs
soundcore snd snd-timer snd-pcm ac97_bus snd-ac97-codec snd-intel8x0:ac97_clock=48000 snd-mixer-oss snd-pcm-oss
evdev psmouse:proto=imps
usb-common usbcore xhci-hcd xhci-pci ehci-hcd ehci-pci uhci-hcd hid usbhid hid-generic"
echo "$WANTED" | tr ' ' '\n' | grep -v '^$' >"$WORK/wanted"
ORDER=$(awk -v wanted="$WORK/wanted" '
    function base(p,   b) { b = p; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b); gsub(/-/, "_", b); return b }
    function visit(p,   n, a, i) {
        if (p in seen) return
        seen[p] = 1
        n = split(deps[p], a, " ")
        for (i = n; i >= 1; i--) visit(a[i])
        print p
    }
    {
        p = $1; sub(/:$/, "", p)
        d = ""; for (i = 2; i <= NF; i++) d = d " " $i
        deps[p] = d; bypath[base(p)] = p
    }
    END {
        while ((getline line < wanted) > 0) {
            split(line, kv, ":"); b = kv[1]; gsub(/-/, "_", b)
            if (!(b in bypath)) { print "MISSING " kv[1] > "/dev/stderr"; exit 1 }
            visit(bypath[b])
        }
    }' "$MODDIR/modules.dep")

R="$WORK/root"
mkdir -p "$R/bin" "$R/sbin" "$R/usr/bin" "$R/usr/sbin" "$R/lib/modules" "$R/etc/olive" \
    "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/root"
: >"$R/etc/olive/modules"
for p in $ORDER; do
    b=$(basename "$p")
    b=${b%.ko*}
    cp "$MODDIR/$p" "$R/lib/modules/$b.ko"
    key=$(echo "$b" | tr - _)
    params=$(awk -F: -v k="$key" '{ n = $1; gsub(/-/, "_", n); if (n == k && NF > 1) print $2 }' "$WORK/wanted" | tr ',' ' ')
    echo "$b $params" | sed 's/ *$//' >>"$R/etc/olive/modules"
done

# ------------------------------------------------------------------ busybox + our program + init
cp "$WORK/bb/bin/busybox" "$R/bin/busybox"
"$R/bin/busybox" --list-full | while read -r applet; do
    [ "$applet" = "bin/busybox" ] && continue
    case "$applet" in
        bin/*) ln -sf busybox "$R/$applet" ;;
        sbin/*) ln -sf ../bin/busybox "$R/$applet" ;;
        usr/bin/* | usr/sbin/*) ln -sf ../../bin/busybox "$R/$applet" ;;
    esac
done
gcc -static -O2 -Wall -o "$R/bin/olive-guest" "$HERE/olive-guest.c" -lm
strip "$R/bin/olive-guest" 2>/dev/null || true
cp "$HERE/init.sh" "$R/init"
chmod 755 "$R/init" "$R/bin/olive-guest"
echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"

# ------------------------------------------------------------------ pack (reproducible)
find "$R" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$R" && find . -mindepth 1 -print0 | sort -z |
    cpio --null -o -H newc --reproducible -R 0:0 --quiet) | gzip -n -9 >"$WORK/initrd.img"
cp "$WORK/kroot/boot/vmlinuz-$KVER" "$WORK/vmlinuz"

{
    echo "# Olive test guest"
    echo "kernel-package $KPKG $KPKG_VER"
    echo "kernel-version $KVER"
    echo "busybox-static $BB_VER"
    echo "gcc $GCC_VER"
    for f in $SRC_FILES; do echo "source-sha256 $f $(sha256sum "$HERE/$f" | cut -d' ' -f1)"; done
    echo "modules $(cut -d' ' -f1 "$R/etc/olive/modules" | tr '\n' ' ' | sed 's/ $//')"
    echo "vmlinuz-sha256 $(sha256sum "$WORK/vmlinuz" | cut -d' ' -f1)"
    echo "initrd-sha256 $(sha256sum "$WORK/initrd.img" | cut -d' ' -f1)"
    echo "stamp $STAMP"
} >"$WORK/manifest.txt"

mv -f "$WORK/vmlinuz" "$OUT/vmlinuz"
mv -f "$WORK/initrd.img" "$OUT/initrd.img"
mv -f "$WORK/manifest.txt" "$OUT/manifest.txt"
rm -rf "$WORK"
echo "$STAMP" >"$OUT/stamp"
log "built $OUT ($(du -k "$OUT/initrd.img" | cut -f1) KiB initrd)"
