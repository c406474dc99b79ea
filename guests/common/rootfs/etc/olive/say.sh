#!/bin/sh
# Prints its arguments as one line on ttyS0 (one write, so lines of different writers never mix).
printf '%s\n' "$*" >/dev/ttyS0
