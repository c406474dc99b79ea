#!/bin/sh
# The X desktop session: Xorg on the qxl driver, twm, xterm, xclock, xcalc and the SPICE
# agent. The kernel parameter olive.qxl_cache=1 turns on the driver's off-screen surfaces
# and image caches (QXL_ENABLE_* in X's environment), which change the operations it sends.
QXL_CACHE=0
case " $(cat /proc/cmdline) " in
    *" olive.qxl_cache=1 "*)
        export QXL_ENABLE_SURFACES=1 QXL_ENABLE_IMAGE_CACHE=1 QXL_ENABLE_FALLBACK_CACHE=1
        QXL_CACHE=1
        ;;
esac
. /etc/olive/x.sh
unset QXL_ENABLE_SURFACES QXL_ENABLE_IMAGE_CACHE QXL_ENABLE_FALLBACK_CACHE
xsetroot -solid '#506478' -cursor_name left_ptr
twm -f /etc/olive/twmrc </dev/null >/var/log/twm.log 2>&1 &
xterm -geometry 80x24+16+16 -title xterm -e /bin/sh -l </dev/null >/dev/null 2>&1 &
xclock -geometry 140x140-16+16 -update 1 </dev/null >/dev/null 2>&1 &
xcalc -geometry +560+300 </dev/null >/dev/null 2>&1 &

# The SPICE agent: the system daemon talks to QEMU's virtio port com.redhat.spice.0 (udev
# makes the /dev/virtio-ports link), the session agent to the daemon and to X.
# -X: no systemd-logind session tracking (there is no logind here).
AGENT=0
if [ -e /dev/virtio-ports/com.redhat.spice.0 ]; then
    mkdir -p /run/spice-vdagentd
    spice-vdagentd -x -X </dev/null >/var/log/spice-vdagentd.log 2>&1 &
    i=0
    until [ -S /run/spice-vdagentd/spice-vdagent-sock ] || [ "$i" -gt 50 ]; do
        i=$((i + 1))
        sleep 0.2
    done
    spice-vdagent -x </dev/null >/var/log/spice-vdagent.log 2>&1 &
    AGENT=1
fi

i=0
until tree=$(xwininfo -root -tree 2>/dev/null) &&
    echo "$tree" | grep -q '"xterm"' && echo "$tree" | grep -q '"xclock"' && pidof twm >/dev/null; do
    i=$((i + 1))
    [ "$i" -gt 300 ] && break
    sleep 0.2
done
/etc/olive/say.sh "OLIVE-GUEST-READY guest=xdesk fb=$FB dsp=$([ -e /dev/snd/pcmC0D0p ] && echo 1 || echo 0) dri=$([ -e /dev/dri/card0 ] && echo 1 || echo 0) cmd=ttyS1 qxl_cache=$QXL_CACHE agent=$AGENT"
wait "$XPID"
