#!/usr/bin/env bash
# registry.sh start DIR none|basic|token [USER PASSWORD]
# registry.sh stop DIR
#
# Debian's docker-registry (distribution 2.8) on 127.0.0.1 at a free port,
# its storage and config in DIR.  basic: an htpasswd file (bcrypt, from
# apache2-utils); token: tests/peers/tokenserver.py with a self-signed
# certificate made here.  Writes DIR/port (and DIR/token-port), and the PIDs
# to DIR/*.pid; stop kills them by PID.  TOKEN_JWT_TTL=N: the tokens' JWTs
# expire N seconds after issue (default: with expires_in, 300 s).
# TLS_CERT=FILE TLS_KEY=FILE: serve https with that certificate instead of
# plain http; TLS_CLIENT_CA=FILE also asks clients for a certificate that CA
# signed.  NOTIFY_URL=URL: the registry posts its events (a pushed manifest)
# there, as its notifications endpoint.
set -euo pipefail

die() {
        echo "registry.sh: $*" >&2
        exit 1
}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/peerlib.sh"

wait_port() { # PORT PIDFILE: until it answers (a TLS server answers http with 400)
        local i
        for ((i = 0; i < 100; i++)); do
                if curl -s -o /dev/null "http://127.0.0.1:$1/"; then return 0; fi
                kill -0 "$(cat "$2")" 2>/dev/null || return 1
                sleep 0.1
        done
        return 1
}

start() {
        local dir=$1 mode=$2 user=${3:-tester} pass=${4:-secret} port auth=""
        command -v docker-registry >/dev/null || die "docker-registry is missing (apt-get install docker-registry)"
        mkdir -p "$dir/data"
        port=$(free_port)
        case $mode in
        none) ;;
        basic)
                command -v htpasswd >/dev/null || die "htpasswd is missing (apt-get install apache2-utils)"
                htpasswd -Bbc "$dir/htpasswd" "$user" "$pass" 2>/dev/null
                auth="auth:
  htpasswd:
    realm: hoist-test
    path: $dir/htpasswd"
                ;;
        token)
                openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/token.key" -out "$dir/token.crt" \
                        -days 2 -subj /CN=hoist-test-token 2>/dev/null
                python3 "$here/tokenserver.py" --key "$dir/token.key" --cert "$dir/token.crt" \
                        --user "$user" --password "$pass" --issuer hoist-test-issuer \
                        ${TOKEN_JWT_TTL:+--jwt-ttl "$TOKEN_JWT_TTL"} \
                        --port-file "$dir/token-port" --log "$dir/token.log" >"$dir/tokenserver.out" 2>&1 &
                echo $! >"$dir/tokenserver.pid"
                for ((i = 0; i < 100; i++)); do [ -s "$dir/token-port" ] && break; sleep 0.1; done
                [ -s "$dir/token-port" ] || die "tokenserver did not start: $(cat "$dir/tokenserver.out")"
                auth="auth:
  token:
    realm: http://127.0.0.1:$(cat "$dir/token-port")/token
    service: hoist-test-registry
    issuer: hoist-test-issuer
    rootcertbundle: $dir/token.crt"
                ;;
        *) die "mode must be none, basic or token, not '$mode'" ;;
        esac
        local tls=""
        if [ -n "${TLS_CERT:-}" ]; then
                tls="  tls:
    certificate: $TLS_CERT
    key: $TLS_KEY"
                [ -z "${TLS_CLIENT_CA:-}" ] || tls="$tls
    clientcas:
      - $TLS_CLIENT_CA"
        fi
        local notify=""
        if [ -n "${NOTIFY_URL:-}" ]; then
                notify="notifications:
  events:
    includereferences: true
  endpoints:
    - name: hoist-test
      url: $NOTIFY_URL
      timeout: 2s
      threshold: 10
      backoff: 1s"
        fi
        cat >"$dir/config.yml" <<CONF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: hoist-test-secret
$tls
$auth
$notify
CONF
        # REGISTRY_* variables override the config (REGISTRY_AUTH_FILE, podman's
        # credentials file, would break it): the registry gets none of them.
        env $(env | sed -n 's/^\(REGISTRY_[A-Za-z0-9_]*\)=.*/-u \1/p') \
                docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
        echo $! >"$dir/registry.pid"
        wait_port "$port" "$dir/registry.pid" || die "docker-registry did not start: $(tail -5 "$dir/registry.log")"
        echo "$port" >"$dir/port"
}

stop() {
        local dir=$1 f
        for f in "$dir/registry.pid" "$dir/tokenserver.pid"; do
                [ -f "$f" ] || continue
                kill "$(cat "$f")" 2>/dev/null || true
                rm -f "$f"
        done
}

case ${1:-} in
start) [ $# -ge 3 ] || die "usage: registry.sh start DIR none|basic|token [USER PASSWORD]"; start "${@:2}" ;;
stop) [ $# -eq 2 ] || die "usage: registry.sh stop DIR"; stop "$2" ;;
*) die "usage: registry.sh start DIR MODE [USER PASSWORD] | stop DIR" ;;
esac
