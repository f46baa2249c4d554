#!/usr/bin/env bash
# Installs what hoist needs to build, run and test on Debian 12 (as root).
# Idempotent: when every package is already there it changes nothing.
set -euo pipefail

PKGS=(
        build-essential pkg-config git ca-certificates
        libcurl4-openssl-dev libjansson-dev libyaml-dev libarchive-dev libssl-dev
        libsystemd-dev libsqlite3-dev libmicrohttpd-dev libexpat1-dev libzstd-dev zlib1g-dev
        libcmocka-dev
        podman runc uidmap busybox-static podman-compose docker-compose
        sqlite3 python3 clang-format cppcheck valgrind procps
        s3cmd rclone uuid-runtime curl tini pigz zstd jq
        docker-registry skopeo umoci apache2-utils python3-cryptography openssl buildah
        debootstrap python3-torch python3-yaml python3-requests wrk nginx-light
        chromium
)
# Test peers whose recommends would pull in far more than they need.
PKGS_NO_RECOMMENDS=(ceph-mon ceph-osd ceph-common radosgw awscli python3-jsonschema python3-kubernetes
        slurmctld slurmd slurm-client munge openssh-server)
# npm's standardwebhooks checks hoist's webhook signatures in the tests, and
# npm's playwright-core drives chromium through the dashboard: Debian's
# nodejs and npm, unless a node with npm is there already (NodeSource's nodejs
# conflicts with Debian's npm).
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)

missing_of() { # PACKAGE...: prints those not installed
        for p in "$@"; do
                [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || echo "$p"
        done
}
missing=($(missing_of "${PKGS[@]}"))
missing_nr=($(missing_of "${PKGS_NO_RECOMMENDS[@]}"))
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_nr[@]} -eq 0 ]; then
        echo "deps: all $((${#PKGS[@]} + ${#PKGS_NO_RECOMMENDS[@]})) packages present"
        exit 0
fi
echo "deps: installing ${missing[*]} ${missing_nr[*]}"
export DEBIAN_FRONTEND=noninteractive
# The tests run their own sshd on a loopback port (tests/peers/sshd.sh).  The
# system one that installing openssh-server would start on port 22 is kept
# from running, through the file its systemd unit and init script both
# honour; an sshd installed before is left as it is.  The system munged
# (its own socket, unused by the tests) may run; slurmctld and slurmd do
# not start without /etc/slurm/slurm.conf, which nothing here writes.
if [[ " ${missing_nr[*]} " == *" openssh-server "* ]]; then
        mkdir -p /etc/ssh
        touch /etc/ssh/sshd_not_to_be_run
fi
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then apt-get install -y -qq "${missing[@]}" >/dev/null; fi
if [ ${#missing_nr[@]} -gt 0 ]; then
        apt-get install -y -qq --no-install-recommends "${missing_nr[@]}" >/dev/null
fi
echo "deps: done in $SECONDS s"
