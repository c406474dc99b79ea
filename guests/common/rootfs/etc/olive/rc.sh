#!/bin/sh
# System start (busybox init's sysinit): file systems, udev (device nodes, module autoload,
# the input and virtio-port symlinks X and spice-vdagentd look for), the guest's extra
# modules (/etc/olive/modules: ISA cards cannot be probed), serial ports in raw mode.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mountpoint -q /run || mount -t tmpfs -o mode=755 tmpfs /run
mount -o remount,rw / 2>/dev/null
mkdir -p /dev/pts /dev/shm /tmp
mountpoint -q /dev/pts || mount -t devpts devpts /dev/pts
mountpoint -q /dev/shm || mount -t tmpfs tmpfs /dev/shm
mountpoint -q /tmp || mount -t tmpfs tmpfs /tmp
hostname "$(cat /etc/hostname)"
for t in /dev/ttyS0 /dev/ttyS1; do stty -F "$t" raw -echo 115200 2>/dev/null; done
stty -F /dev/ttyS0 opost onlcr 2>/dev/null

/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add --type=subsystems
udevadm trigger --action=add --type=devices
udevadm settle --timeout=30

if [ -f /etc/olive/modules ]; then
    grep -v '^#' /etc/olive/modules | while read -r mod params; do
        [ -n "$mod" ] || continue
        # shellcheck disable=SC2086
        modprobe "$mod" $params || /etc/olive/say.sh "OLIVE-WARN modprobe $mod failed"
    done
    udevadm settle --timeout=10
fi
echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null
/etc/olive/say.sh "OLIVE-BOOT $(cat /etc/olive/guest) kernel=$(uname -r) up=$(cut -d' ' -f1 /proc/uptime)"
exit 0
