#!/bin/sh
# Builds a Debian trixie root with GIMP 3 and its Python support in $1, for the real-GIMP tests
# on machines whose own distribution has no GIMP 3. Needs root and the Debian package mirrors.
# Re-running on a finished root does nothing; a half-made one is removed and made again.
set -eu
root=${1:?usage: provision_gimp.sh DIR}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
[ -f "$root/.provisioned" ] && exit 0
if ! command -v debootstrap >/dev/null; then
    apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
fi
rm -rf "$root"
mkdir -p "$root"
debootstrap --variant=minbase trixie "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log"; exit 1; }
unshare --mount --propagation private sh -c "
    mount -t proc proc '$root/proc'
    chroot '$root' apt-get install -y -qq --no-install-recommends gimp python3-gi gir1.2-gimp-3.0 xvfb xauth
" >>"$root.log" 2>&1 || { tail -20 "$root.log"; exit 1; }
chroot "$root" apt-get clean
touch "$root/.provisioned"
