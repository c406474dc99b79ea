#!/bin/sh
# /init of Olive's test guest (busybox sh, PID 1).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts 2>/dev/null

# Modules in dependency order ("name params..." per line); failures (e.g. qxl without a qxl
# device, which just registers a driver with nothing to bind) are harmless.
# bochs (std VGA's DRM driver) is opt-in with olive.fb=bochs: without it std VGA stays in
# VGA text mode, which is what QEMU shows before any driver and what the text-mode tests
# use; with it the framebuffer scenes run on QEMU's default display adapter too.
cmdline=" $(cat /proc/cmdline) "
while read -r mod params; do
    if [ "$mod" = bochs ]; then
        case "$cmdline" in *" olive.fb=bochs "*) ;; *) continue ;; esac
    fi
    # shellcheck disable=SC2086
    insmod "/lib/modules/$mod.ko" $params 2>/dev/null
done </etc/olive/modules

echo 0 >/sys/class/graphics/fbcon/cursor_blink 2>/dev/null

# Our program: ready marker, commands on ttyS1, events and answers on ttyS0.
(
    while true; do
        /bin/olive-guest </dev/null >/dev/null 2>&1
        sleep 1
    done
) &

# A shell on the console (tty1), respawned.
while true; do
    setsid -c /bin/sh -l </dev/tty1 >/dev/tty1 2>&1
    sleep 1
done
