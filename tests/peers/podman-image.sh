#!/usr/bin/env bash
# podman-image.sh OUT_TAG BUNDLE_TAR QUICKSTART_BIN
#
# Builds a test image with no network and no libc: busybox-static with its
# applet links, /tmp, /etc/passwd and /etc/group for root, the entrypoint
# bundle's /opt/hoist, and the static quickstart trainer at
# /usr/local/bin/hoist-quickstart; imported with
# ENTRYPOINT ["/opt/hoist/bin/hoist-entrypoint"] and CMD ["train"].
# Running it again replaces the tag (and drops the image it pointed to).
set -euo pipefail

die() {
        echo "podman-image: $*" >&2
        exit 1
}

[ $# -eq 3 ] || die "usage: podman-image.sh OUT_TAG BUNDLE_TAR QUICKSTART_BIN"
tag=$1 bundle_tar=$2 quickstart=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/containers.conf}
busybox=${HOIST_BUSYBOX:-/bin/busybox}

[ -f "$bundle_tar" ] || die "bundle '$bundle_tar' does not exist (run 'make bundle')"
[ -x "$quickstart" ] || die "trainer '$quickstart' does not exist (run 'make quickstart')"
[ -x "$busybox" ] || die "'$busybox' does not exist (apt-get install busybox-static)"
command -v podman >/dev/null || die "podman is missing (apt-get install podman runc)"
# Only a static busybox works in an image without libc.
# (readelf's output is read whole: `readelf | grep -q` dies of SIGPIPE under pipefail)
if grep -q 'program interpreter' <<<"$(readelf -l "$busybox" 2>/dev/null)"; then
        die "'$busybox' is dynamically linked; install busybox-static"
fi
if grep -q 'program interpreter' <<<"$(readelf -l "$quickstart" 2>/dev/null)"; then
        die "'$quickstart' is dynamically linked; the image has no libc for it"
fi

tmp=$(mktemp -d /tmp/hoist-image.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
rootfs=$tmp/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,root,tmp,proc,sys,dev}
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"

install -m 0755 "$busybox" "$rootfs/bin/busybox"
# `busybox --install -s`, done on the host: one absolute link per applet.
while read -r applet; do
        case "$applet" in
        bin/busybox | linuxrc) continue ;;
        esac
        mkdir -p "$rootfs/$(dirname "$applet")"
        ln -sfn /bin/busybox "$rootfs/$applet"
done < <("$busybox" --list-full)

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
        >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

tar -xf "$bundle_tar" -C "$rootfs" --no-same-owner
[ -x "$rootfs/opt/hoist/bin/hoist-entrypoint" ] ||
        die "'$bundle_tar' has no opt/hoist/bin/hoist-entrypoint"
install -m 0755 "$quickstart" "$rootfs/usr/local/bin/hoist-quickstart"

tar -cf "$tmp/rootfs.tar" -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner .

old=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
new=$(podman import --quiet \
        --change 'ENTRYPOINT ["/opt/hoist/bin/hoist-entrypoint"]' \
        --change 'CMD ["train"]' \
        --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
        "$tmp/rootfs.tar" "$tag")
if [ -n "$old" ] && [ "$old" != "$new" ]; then
        podman rmi "$old" >/dev/null 2>&1 || true # still used by a container: keep it
fi
echo "$tag $new"
