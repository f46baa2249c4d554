#!/usr/bin/env bash
# mkrootfs.sh OUT_DIR BIN...
#
# Lays out OUT_DIR as the root filesystem of an image FROM scratch that runs
# the dynamically linked programs BIN... (hoist, hoist-entrypoint): each at
# /usr/local/bin/<name>, every shared library they need (as the dynamic
# loader resolves them, plus libsystemd, which hoist dlopen()s) at the path
# it has here, the loader itself, CA certificates, /etc/passwd and
# /etc/group for root, /tmp and /data.  images/hoist/Dockerfile copies it
# into one layer: no base image, nothing downloaded.
#
# Environment: HOIST_LDSO (default /lib64/ld-linux-x86-64.so.2),
# HOIST_CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt).
set -euo pipefail

die() {
        echo "mkrootfs: $*" >&2
        exit 1
}

[ $# -ge 2 ] || die "usage: mkrootfs.sh OUT_DIR BIN..."
out=$1
shift
ldso=${HOIST_LDSO:-/lib64/ld-linux-x86-64.so.2}
ca=${HOIST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -x "$ldso" ] || die "the dynamic loader '$ldso' does not exist (set HOIST_LDSO)"

rm -rf "$out"
mkdir -p "$out"/{usr/local/bin,etc/ssl/certs,tmp,data,root}
chmod 1777 "$out/tmp"
chmod 0700 "$out/root"

# copy_file PATH: PATH (a symlink's target too) at the same place under OUT_DIR.
copy_file() {
        local p=$1 real
        real=$(readlink -f "$p")
        mkdir -p "$out$(dirname "$p")" "$out$(dirname "$real")"
        [ -e "$out$real" ] || cp "$real" "$out$real"
        [ "$p" = "$real" ] || [ -e "$out$p" ] || ln -s "$real" "$out$p"
}

# libs OBJ: the "=> /path" libraries the loader resolves for OBJ.
libs() {
        local listing
        listing=$("$ldso" --list "$1" 2>&1) || die "cannot resolve the libraries of '$1':
$listing"
        ! grep -q 'not found' <<<"$listing" || die "unresolved libraries of '$1':
$(grep 'not found' <<<"$listing")"
        awk '$2 == "=>" && $3 ~ /^\// {print $3}' <<<"$listing"
}

cache=$(ldconfig -p) || die "'ldconfig -p' failed"
systemd=$(awk '$1 == "libsystemd.so.0" && /x86-64/ {print $NF; exit}' <<<"$cache")
[ -n "$systemd" ] || die "libsystemd.so.0 is not installed (apt-get install libsystemd0)"

for bin in "$@"; do
        [ -x "$bin" ] || die "'$bin' does not exist (run 'make all')"
        install -m 0755 "$bin" "$out/usr/local/bin/$(basename "$bin")"
        if grep -q 'program interpreter' <<<"$(readelf -l "$bin" 2>/dev/null)"; then
                for lib in $(libs "$bin"); do copy_file "$lib"; done
        fi
done
for lib in "$systemd" $(libs "$systemd"); do copy_file "$lib"; done
copy_file "$ldso"
[ -z "$ca" ] || cp "$ca" "$out/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
        >"$out/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$out/etc/group"
printf 'hosts: files dns\n' >"$out/etc/nsswitch.conf"
