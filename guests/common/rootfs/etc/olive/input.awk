# evtest output -> Olive's input report lines (see guests/README.md). One printf + fflush
# per line, so each line is one write on ttyS0.
function num(s, key,   i, t) {
    i = index(s, key " ")
    if (i == 0) return ""
    t = substr(s, i + length(key) + 1)
    sub(/[^-0-9].*/, "", t)
    return t
}
function out(s) { printf "%s\n", s; fflush() }
BEGIN { rel = 0; abs = 0; dx = 0; dy = 0; wh = 0; hw = 0; absch = 0 }
/^Input device name:/ {
    name = $0
    sub(/^Input device name: "/, "", name)
    sub(/"$/, "", name)
}
/Event code 0 \(REL_X\)/ { rel = 1 }
/Event code 0 \(ABS_X\)/ { abs = 1 }
/^Testing/ {
    out("INPUT add " dev " type=" (abs ? "abs" : (rel ? "rel" : "key")) " name=" name)
}
/^Event:/ && /\(EV_KEY\)/ { out("EV KEY code=" num($0, "code") " value=" num($0, "value")) }
/^Event:/ && /\(EV_REL\)/ {
    c = num($0, "code"); v = num($0, "value") + 0
    if (c == 0) dx += v; else if (c == 1) dy += v; else if (c == 8) wh += v; else if (c == 6) hw += v
}
/^Event:/ && /\(EV_ABS\)/ {
    c = num($0, "code"); v = num($0, "value")
    if (c == 0) { x = v; absch = 1 } else if (c == 1) { y = v; absch = 1 }
}
/SYN_REPORT/ {
    if (dx != 0 || dy != 0) out("EV REL dx=" dx " dy=" dy)
    if (wh != 0) out("EV WHEEL " wh)
    if (hw != 0) out("EV HWHEEL " hw)
    if (absch) out("EV ABS x=" x " y=" y)
    dx = 0; dy = 0; wh = 0; hw = 0; absch = 0
}
END { out("INPUT remove " dev) }
