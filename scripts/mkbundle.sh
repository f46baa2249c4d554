#!/usr/bin/env bash
# mkbundle.sh ENTRYPOINT_BIN BUNDLE_DIR OUT_TAR
#
# Lays out BUNDLE_DIR/opt/hoist: bin/hoist-entrypoint, lib/ with every shared
# library it needs, and the dynamic loader as lib/ld-linux-x86-64.so.2, so the
# entrypoint runs in any x86-64 image, even one with no libc.  Then writes
# OUT_TAR, a reproducible tar layer whose paths begin with opt/hoist/.
#
# ENTRYPOINT_BIN must be linked with
#   -Wl,--dynamic-linker=/opt/hoist/lib/ld-linux-x86-64.so.2
#   -Wl,--disable-new-dtags -Wl,-rpath,/opt/hoist/lib
# DT_RPATH (not RUNPATH) is searched before LD_LIBRARY_PATH, so an image that
# sets LD_LIBRARY_PATH (CUDA images do) cannot swap the entrypoint's libraries.
#
# Libraries the entrypoint dlopen()s are not in that listing.  Those it loads
# on first use to keep start-up short (entrypoint/lazy/curl.c, lib/notify.c)
# are copied with their dependencies: HOIST_BUNDLE_DLOPEN, default
# "libcurl.so.4 libsystemd.so.0".  libnvidia-ml.so.1 must come from the
# host's GPU driver (the container toolkit mounts it).  glibc
# 2.36 has nss_files and nss_dns built in, so name lookups need no modules.
#
# Environment: SOURCE_DATE_EPOCH (default 0) stamps every entry;
# HOIST_LDSO (default /lib64/ld-linux-x86-64.so.2) resolves the libraries;
# HOIST_CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt, "" for none) is
# copied to opt/hoist/etc/ssl/certs/ca-certificates.crt for images without
# CA certificates.
set -euo pipefail

readonly INTERP=/opt/hoist/lib/ld-linux-x86-64.so.2
readonly RPATH=/opt/hoist/lib

die() {
        echo "mkbundle: $*" >&2
        exit 1
}

[ $# -eq 3 ] || die "usage: mkbundle.sh ENTRYPOINT_BIN BUNDLE_DIR OUT_TAR"
bin=$1 bundle_dir=$2 out_tar=$3
ldso=${HOIST_LDSO:-/lib64/ld-linux-x86-64.so.2}
ca_bundle=${HOIST_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}
epoch=${SOURCE_DATE_EPOCH:-0}

[ -f "$bin" ] || die "'$bin' does not exist (build it with 'make bundle')"
[ -x "$ldso" ] || die "the dynamic loader '$ldso' does not exist (set HOIST_LDSO)"
command -v readelf >/dev/null || die "readelf is missing (apt-get install binutils)"

# The binary must ask for the bundled loader and search the bundled libraries
# first, or the layer would silently use whatever libc the image has.
interp=$(readelf -l "$bin" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]/\1/p')
[ "$interp" = "$INTERP" ] ||
        die "'$bin' asks for the loader '${interp:-none (static?)}', not $INTERP; link it with -Wl,--dynamic-linker=$INTERP"
# Outputs are read whole before they are searched: in `readelf | grep -q` under
# pipefail, grep's early exit kills readelf with SIGPIPE and the script with
# it (scripts/check-pipes.sh).
dynamic=$(readelf -d "$bin")
grep -q "(RPATH).*\[$RPATH\]" <<<"$dynamic" ||
        die "'$bin' has no DT_RPATH $RPATH; link it with -Wl,--disable-new-dtags -Wl,-rpath,$RPATH"

# `ld.so --list` loads the dependency tree the way the loader will (transitive,
# in load order) and prints "soname => path" per object.  Its exit status is
# non-zero when a library is missing; check the lines as well.
listing=$("$ldso" --list "$bin" 2>&1) || die "cannot resolve the libraries of '$bin':
$listing"
# The dlopen()ed libraries and their dependencies, as "soname => path" lines.
# The loader cache can be far larger than a pipe buffer (78 KB with
# python3-torch installed).
cache=$(ldconfig -p) || die "'ldconfig -p' failed"
for soname in ${HOIST_BUNDLE_DLOPEN-libcurl.so.4 libsystemd.so.0}; do
        path=$(awk -v s="$soname" '$1 == s && /x86-64/ {print $NF; exit}' <<<"$cache")
        [ -n "$path" ] || die "'$soname' (HOIST_BUNDLE_DLOPEN) is not installed"
        deps=$("$ldso" --list "$path" 2>&1) || die "cannot resolve the libraries of '$path':
$deps"
        listing+=$'\n'"$soname => $path (0x0)"$'\n'$(grep ' => ' <<<"$deps")
done
listing=$(awk '!seen[$1]++' <<<"$listing")
if grep -q 'not found' <<<"$listing"; then
        die "unresolved libraries for '$bin':
$(grep 'not found' <<<"$listing")"
fi

root="$bundle_dir/opt/hoist"
rm -rf "$root"
mkdir -p "$root/bin" "$root/lib"
install -m 0755 "$bin" "$root/bin/hoist-entrypoint"

loader=""
nlibs=0
while read -r line; do
        case "$line" in
        linux-vdso.so.* | "") continue ;; # provided by the kernel
        "$INTERP => "*)
                loader=${line#"$INTERP => "}
                loader=${loader%% (0x*}
                continue
                ;;
        *" => "*) ;;
        *) die "unexpected line from '$ldso --list': $line" ;;
        esac
        soname=${line%% => *}
        path=${line#* => }
        path=${path%% (0x*}
        [ -f "$path" ] || die "library '$soname' resolved to '$path', which is not a file"
        case "$soname" in
        */*) die "'$bin' needs '$soname' by path; only sonames can be bundled" ;;
        esac
        # Copy the real file (cp -L follows symlinks) under its soname, the name
        # the loader looks for.
        cp -L "$path" "$root/lib/$soname"
        chmod 0755 "$root/lib/$soname"
        nlibs=$((nlibs + 1))
done <<<"$listing"
[ -n "$loader" ] || die "'$ldso --list' did not report the loader for $INTERP"
cp -L "$loader" "$root/lib/ld-linux-x86-64.so.2"
chmod 0755 "$root/lib/ld-linux-x86-64.so.2"

if [ -n "$ca_bundle" ] && [ -f "$ca_bundle" ]; then
        mkdir -p "$root/etc/ssl/certs"
        cp -L "$ca_bundle" "$root/etc/ssl/certs/ca-certificates.crt"
        chmod 0644 "$root/etc/ssl/certs/ca-certificates.crt"
fi

# Directory modes do not depend on the umask: the layer is byte-for-byte the
# same wherever it is built.
find "$root" -type d -exec chmod 0755 {} +

mkdir -p "$(dirname "$out_tar")"
tmp_tar="$out_tar.tmp.$$"
trap 'rm -f "$tmp_tar"' EXIT
tar --create --file="$tmp_tar" --directory="$bundle_dir" \
        --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
        --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        opt/hoist
mv -f "$tmp_tar" "$out_tar"
trap - EXIT
echo "mkbundle: $out_tar: hoist-entrypoint, $nlibs libraries and the loader under /opt/hoist" >&2
