#!/usr/bin/env bash
# Installs what hoist needs to build, run and test on Debian 12 (as root).
# Idempotent: when every package is already there it changes nothing.
set -euo pipefail

PKGS=(
        build-essential pkg-config git ca-certificates
        libcurl4-openssl-dev libjansson-dev libyaml-dev libarchive-dev libssl-dev
        libsystemd-dev libsqlite3-dev libmicrohttpd-dev libexpat1-dev libzstd-dev
        libcmocka-dev
        podman runc uidmap busybox-static
        sqlite3 python3 clang-format cppcheck valgrind procps
)

missing=()
for p in "${PKGS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
        echo "deps: all ${#PKGS[@]} packages present"
        exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
echo "deps: done"
