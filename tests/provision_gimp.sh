#!/bin/sh
# Builds a pristine Debian root with GIMP 3 and its Python support in DIR, for the real-GIMP tests
# on machines whose own distribution has no GIMP 3. SUITE picks the GIMP: trixie has GIMP 3.0
# (Python 3.13), sid has GIMP 3.2 (Python 3.14). Needs root and the Debian package mirrors.
# Re-running on a finished root does nothing; a half-made one is removed and made again.
set -eu
suite=${1:?usage: provision_gimp.sh SUITE DIR}
root=${2:?usage: provision_gimp.sh SUITE DIR}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
[ -f "$root/.provisioned" ] && exit 0
if ! command -v debootstrap >/dev/null; then
    apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
fi
rm -rf "$root"
mkdir -p "$root"
echo "Making a Debian $suite root with GIMP 3 in $root (a few minutes, once)..."
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log"; exit 1; }
unshare --mount --propagation private sh -c "
    mount -t proc proc '$root/proc'
    chroot '$root' apt-get install -y -qq --no-install-recommends gimp python3-gi gir1.2-gimp-3.0 xvfb xauth xdotool
" >>"$root.log" 2>&1 || { tail -20 "$root.log"; exit 1; }
chroot "$root" apt-get clean
touch "$root/.provisioned"
