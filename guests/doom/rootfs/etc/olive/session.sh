#!/bin/sh
# The Doom session: X at 640x400 with no window manager, Chocolate Doom full screen on
# Freedoom: Phase 1. With no key pressed it runs the title screen and demo loop.
# Ready line once the game's window is mapped.
. /etc/olive/x.sh
xsetroot -solid black
# Sound: card 0 is the Sound Blaster 16 (ALSA) for effects; music is OPL, on the AdLib
# port (0x388) when chocolate-doom finds it (it runs as root, so it may use ioperm), else
# its own OPL emulation through the same ALSA device.
SDL_AUDIODRIVER=alsa chocolate-doom -iwad /usr/share/games/doom/freedoom1.wad -fullscreen \
    </dev/null >/var/log/doom.log 2>&1 &
DOOM=$!
i=0
until xwininfo -root -tree 2>/dev/null | grep -qi 'doom'; do
    i=$((i + 1))
    if [ "$i" -gt 300 ] || ! kill -0 "$DOOM" 2>/dev/null; then
        /etc/olive/say.sh "OLIVE-ERROR doom did not start: $(tail -n 3 /var/log/doom.log | tr '\n' ' ')"
        break
    fi
    sleep 0.2
done
/etc/olive/say.sh "OLIVE-GUEST-READY guest=doom fb=$FB dsp=$([ -e /dev/snd/pcmC0D0p ] && echo 1 || echo 0) dri=$([ -e /dev/dri/card0 ] && echo 1 || echo 0) cmd=ttyS1"
wait "$DOOM"
kill "$XPID" 2>/dev/null
wait
