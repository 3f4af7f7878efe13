#!/bin/sh
# Debian's Chromium for the demo page's browser tests (tests/e2e/test_demo_page.py), which
# fail rather than skip without it. Installed as root, or through sudo when that works without
# a password; otherwise this stops at once with the command that a person can run.
set -eu
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
else
    echo "make test: $CHROMIUM is missing; install Debian's Chromium first:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y chromium" >&2
    exit 2
fi
echo "make test: installing Debian's chromium (the browser tests need $CHROMIUM)" >&2
$as_root apt-get update -qq
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
[ -x "$CHROMIUM" ] || { echo "make test: apt-get installed chromium, but $CHROMIUM is still missing" >&2; exit 2; }
