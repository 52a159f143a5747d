#!/bin/sh
# Builds a pristine Debian root with GIMP 3 and its Python support in DIR, for the real-GIMP tests
# on machines whose own distribution has no GIMP 3. SUITE picks the GIMP: trixie has GIMP 3.0
# (Python 3.13), sid has GIMP 3.2 (Python 3.14). Needs root and the Debian package mirrors.
# Re-running on a finished root does nothing; a half-made one is removed and made again.
set -eu
suite=${1:?usage: provision_gimp.sh SUITE DIR}
root=${2:?usage: provision_gimp.sh SUITE DIR}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# openssh-client: the plug-in reaches an engine on another computer by ssh (tests/test_remote.py)
packages="gimp python3-gi gir1.2-gimp-3.0 xvfb xauth xdotool openssh-client"
in_root() {
    unshare --mount --propagation private sh -c "mount -t proc proc '$root/proc'; chroot '$root' $1" >>"$root.log" 2>&1 \
        || { tail -20 "$root.log"; exit 1; }
}
if [ -f "$root/.provisioned" ]; then
    [ "$(cat "$root/.provisioned")" = "$packages" ] && exit 0
    echo "Adding to the Debian $suite root in $root: $packages"  # a root made for fewer packages
    in_root "sh -c 'apt-get -o Acquire::Check-Valid-Until=false update -qq && apt-get install -y -qq --no-install-recommends $packages'"
    chroot "$root" apt-get clean
    echo "$packages" >"$root/.provisioned"
    exit 0
fi
if ! command -v debootstrap >/dev/null; then
    apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null
fi
rm -rf "$root"
mkdir -p "$root"
echo "Making a Debian $suite root with GIMP 3 in $root (a few minutes, once)..."
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log"; exit 1; }
in_root "apt-get install -y -qq --no-install-recommends $packages"
chroot "$root" apt-get clean
echo "$packages" >"$root/.provisioned"
