#!/bin/sh
# The serial command channel: one command per line on ttyS1, answers on ttyS0.
#   echo TEXT  -> "ECHO TEXT", "OK echo"
#   sh CMD...  -> every output line (stdout and stderr) as "OUT <line>", then "OK sh rc=<n>"
#                 (CMD runs under sh -c with DISPLAY=:0, killed after 60 s;
#                 programs it leaves in the background keep running)
#   other      -> "ERR <word>: unknown command"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games
export DISPLAY=:0 HOME=/root
say=/etc/olive/say.sh
exec </dev/ttyS1
while IFS= read -r line; do
    line=$(printf '%s' "$line" | tr -d '\r')
    word=${line%% *}
    rest=${line#"$word"}
    rest=${rest# }
    case "$word" in
        "") ;;
        echo)
            $say "ECHO $rest"
            $say "OK echo"
            ;;
        sh)
            # Output goes through a file, not a pipe: a program the command leaves running
            # in the background (xclock &) must not keep the channel waiting for EOF.
            timeout 60 sh -c "$rest" </dev/null >/run/olive-cmd.out 2>&1
            rc=$?
            while IFS= read -r out || [ -n "$out" ]; do $say "OUT $out"; done </run/olive-cmd.out
            $say "OK sh rc=$rc"
            ;;
        *)
            $say "ERR $word: unknown command"
            ;;
    esac
done
