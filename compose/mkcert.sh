#!/bin/sh
# mkcert.sh [DIR]
# Makes DIR/cert.pem and DIR/key.pem (DIR: compose/certs, the stack's
# default $HOIST_CERTS): a self-signed certificate for
# localhost and 127.0.0.1, which hoist serve in the dev stack needs to
# listen off its container's loopback.  Clients trust it with
# AWS_CA_BUNDLE=compose/certs/cert.pem (hoist, awscli) or curl --cacert.
# Keeps an existing pair; delete it to make a new one.
set -eu
dir=${1:-$(dirname "$0")/certs}
[ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] && exit 0
command -v openssl >/dev/null || { echo "mkcert: openssl is missing (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
echo "mkcert: $dir/cert.pem and $dir/key.pem"
