#!/bin/sh
# The input report: every /dev/input/event* device gets an evtest whose output
# /etc/olive/input.awk turns into the test guest's lines on ttyS0
# ("INPUT add event1 type=rel name=...", "EV KEY code=28 value=1", "EV REL dx=3 dy=-1", ...).
# (mawk -W interactive: mawk otherwise fills its input buffer before it reads a line.)
# Devices are rescanned every 0.5 s; evtest does not grab, so X reads the same events.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /run/olive-input
while true; do
    for dev in /dev/input/event*; do
        [ -c "$dev" ] || continue
        name=${dev#/dev/input/}
        [ -e "/run/olive-input/$name" ] && continue
        : >"/run/olive-input/$name"
        (
            stdbuf -oL evtest "$dev" 2>/dev/null | mawk -W interactive -v dev="$name" -f /etc/olive/input.awk >/dev/ttyS0
            rm -f "/run/olive-input/$name"
        ) &
    done
    sleep 0.5
done
