#!/usr/bin/env bash
# make-torch-rootfs.sh [--print-path]
#
# Makes (once per machine) a Debian bookworm root filesystem with PyTorch
# (python3-torch, Debian's 1.13, CPU build) and numpy, with debootstrap, as a
# tar that `hoist import` turns into a base image:
#
#     tar=$(scripts/make-torch-rootfs.sh)
#     hoist import "$tar" localhost/debian-torch:bookworm --change 'CMD ["/usr/bin/python3"]'
#
# The tar is cached in $HOIST_ROOTFS_CACHE (default /var/cache/hoist-tests),
# keyed by the suite, the mirror and the package list, so only the first run
# on a machine pays for debootstrap (minutes, ~1 GiB of downloads).  It
# prints the tar's path on stdout; progress goes to stderr.  Concurrent runs
# wait for each other (flock) and a killed run leaves no tar behind.
#
# The mirror is the one this machine's apt sources name for Debian
# (deb.debian.org by default); override with HOIST_DEBIAN_MIRROR.  Needs root
# and debootstrap (scripts/deps.sh installs it).
set -euo pipefail

die() {
        echo "make-torch-rootfs: $*" >&2
        exit 1
}

suite=bookworm
packages=python3-torch,python3-numpy
cache=${HOIST_ROOTFS_CACHE:-/var/cache/hoist-tests}

# The Debian mirror of this machine's apt sources (deb822 URIs: or one-line deb).
mirror_of_sources() {
        local f u
        for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
                [ -f "$f" ] || continue
                u=$(sed -n -E 's#^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)(https?://[^[:space:]]*/debian)/?([[:space:]].*)?$#\3#p' "$f")
                u=$(sed -n 1p <<<"$u")
                if [ -n "$u" ]; then
                        echo "$u"
                        return
                fi
        done
        echo http://deb.debian.org/debian
}
mirror=${HOIST_DEBIAN_MIRROR:-$(mirror_of_sources)}

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root (run as root, or set HOIST_ROOTFS_CACHE to a cache that holds the tar)"
key=$(printf '%s\n' "$suite" "$mirror" "$packages" minbase v1 | sha256sum)
key=${key:0:16}
tar=$cache/torch-rootfs-$suite-$key.tar

mkdir -p "$cache"
exec 9>"$cache/.torch-rootfs-$key.lock"
flock 9
if [ -s "$tar" ]; then
        echo "$tar"
        exit 0
fi
command -v debootstrap >/dev/null || die "debootstrap is missing (scripts/deps.sh installs it)"

work=$(mktemp -d "$cache/.torch-rootfs-XXXXXX")
# debootstrap mounts /proc and /sys in the target (and unmounts them when it
# ends); a killed run may leave them: unmount, and never remove across a mount.
cleanup() {
        local m
        while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(findmnt -rn -o TARGET | grep -F "$work/" | sort -r)
        rm -rf --one-file-system "$work"
}
trap cleanup EXIT
start=$(date +%s)
echo "make-torch-rootfs: debootstrap $suite with $packages from $mirror (first run on this machine: a few minutes)" >&2
# The packages this machine's apt already fetched (scripts/deps.sh installs
# python3-torch too) are not fetched again: debootstrap takes a cached .deb
# whose checksum matches its Packages index and downloads the rest (here
# about 114 of 267 MiB).  Links, so apt's cache is only read.
mkdir "$work/debs"
find /var/cache/apt/archives -maxdepth 1 -name '*.deb' -type f -exec ln -s -t "$work/debs" {} + 2>/dev/null || true
if ! debootstrap --variant=minbase --include="$packages" --cache-dir="$work/debs" "$suite" "$work/root" "$mirror" \
        >"$work/debootstrap.log" 2>&1; then
        tail -n 30 "$work/debootstrap.log" >&2
        die "debootstrap failed (full log above; is $mirror reachable?)"
fi
# What a container never needs: package caches, lists, docs, logs.
rm -rf "$work/root"/var/cache/apt/archives/*.deb "$work/root"/var/lib/apt/lists/* \
        "$work/root"/usr/share/doc/* "$work/root"/usr/share/man/* "$work/root"/var/log/*.log \
        "$work/root"/var/cache/debconf/*-old
# The engine provides /dev, /proc and /sys; no device nodes in the layer.
rm -rf "${work:?}/root/dev" && mkdir -m 755 "$work/root/dev"
tar --numeric-owner --xattrs --sort=name --one-file-system -C "$work/root" -cf "$work/rootfs.tar" .
mv "$work/rootfs.tar" "$tar"
end=$(date +%s)
echo "make-torch-rootfs: $tar: $(du -h "$tar" | cut -f1) in $((end - start)) s" >&2
echo "$tar"
