#!/bin/sh
# Shared by the sessions: starts Xorg on :0 (vt7, /etc/olive/xorg.conf) and waits until it
# answers. Sourced; leaves XPID set.
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin:/usr/games
export DISPLAY=:0 HOME=/root
rm -f /tmp/.X0-lock /tmp/.X11-unix/X0
/usr/lib/xorg/Xorg :0 vt7 -nolisten tcp -noreset -s 0 -dpms -config /etc/olive/xorg.conf \
    -logfile /var/log/Xorg.0.log </dev/null >/dev/null 2>&1 &
XPID=$!
i=0
until xdpyinfo >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 300 ] || ! kill -0 "$XPID" 2>/dev/null; then
        /etc/olive/say.sh "OLIVE-ERROR X did not start: $(tail -n 3 /var/log/Xorg.0.log | tr '\n' ' ')"
        sleep 5
        exit 1
    fi
    sleep 0.2
done
# "fb=WxHxDEPTH" for the ready line.
FB=$(xdpyinfo | awk '/dimensions:/ { d = $2 } /depth of root window:/ { b = $5 } END { print d "x" b }')
