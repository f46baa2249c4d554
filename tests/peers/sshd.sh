#!/usr/bin/env bash
# sshd.sh start DIR [NAME=VALUE...] | stop DIR
#
# OpenSSH's sshd on 127.0.0.1 at a free port, standing in for a cluster's
# login node (shared/PEERS.md): its own host key, one client key allowed to
# log in as root, both made in DIR.  Each NAME=VALUE is set in every
# session's environment (sshd's SetEnv), the way a login node's profile
# sets SLURM_CONF.  `start` returns once sshd accepts a login and writes
# DIR/env, shell lines to source (also printed):
#     export SSHD_PEER_CONFIG=DIR/ssh_config   `ssh -F $SSHD_PEER_CONFIG HOST CMD`
#     export SSHD_PEER_HOST=hoist-login        the host alias in that file
#     export SSHD_PEER_PORT=PORT
#     export SSHD_PEER_KEY=DIR/id_ed25519      the client key
# The alias and 127.0.0.1 itself both work with the config (no prompts,
# no known_hosts outside DIR).  `stop` stops sshd and its sessions by PID.
# The system sshd (port 22), if any, is neither needed nor touched.
# Needs: apt-get install openssh-server openssh-client
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/peerlib.sh"

die() {
        echo "sshd.sh: $*" >&2
        exit 1
}

login_ok() { ssh -F "$1/ssh_config" hoist-login true </dev/null; }

start() {
        local d=$1 port kv
        shift
        for b in /usr/sbin/sshd ssh ssh-keygen; do
                command -v "$b" >/dev/null || die "'$b' is missing (apt-get install openssh-server openssh-client)"
        done
        mkdir -p "$d"
        d=$(cd "$d" && pwd)
        [ ! -f "$d/sshd.pid" ] || die "'$d' holds a running sshd (sshd.sh stop '$d' first)"
        trap 'rc=$?; [ $rc -eq 0 ] || stop "'"$d"'"; exit $rc' EXIT
        rm -f "$d/hostkey" "$d/hostkey.pub" "$d/id_ed25519" "$d/id_ed25519.pub"
        ssh-keygen -q -t ed25519 -N '' -C hoist-test-host -f "$d/hostkey"
        ssh-keygen -q -t ed25519 -N '' -C hoist-test-client -f "$d/id_ed25519"
        cp "$d/id_ed25519.pub" "$d/authorized_keys"
        echo "127.0.0.1 $(cut -d' ' -f1-2 "$d/hostkey.pub")" >"$d/known_hosts"
        # sshd's privilege separation directory, fixed at build time.
        mkdir -p /run/sshd
        chmod 0755 /run/sshd
        port=$(free_port)
        {
                echo "Port $port"
                echo "ListenAddress 127.0.0.1"
                echo "HostKey $d/hostkey"
                echo "PidFile $d/sshd.pidfile"
                echo "AuthorizedKeysFile $d/authorized_keys"
                echo "PasswordAuthentication no"
                echo "KbdInteractiveAuthentication no"
                echo "PubkeyAuthentication yes"
                echo "PermitRootLogin prohibit-password"
                echo "StrictModes no"
                echo "UsePAM no"
                echo "PrintMotd no"
                echo "Subsystem sftp internal-sftp"
                # One SetEnv line: sshd takes the first one it reads.
                if [ $# -gt 0 ]; then
                        printf SetEnv
                        for kv in "$@"; do
                                [[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]*=[^\"]*$ ]] ||
                                        die "'$kv' is not NAME=VALUE (a value without double quotes)"
                                printf ' "%s"' "$kv"
                        done
                        echo
                fi
        } >"$d/sshd_config"
        cat >"$d/ssh_config" <<CONF
Host hoist-login 127.0.0.1
        HostName 127.0.0.1
        Port $port
        User root
        IdentityFile $d/id_ed25519
        IdentitiesOnly yes
        UserKnownHostsFile $d/known_hosts
        GlobalKnownHostsFile /dev/null
        StrictHostKeyChecking yes
        HostKeyAlias 127.0.0.1
        BatchMode yes
        PasswordAuthentication no
        ConnectTimeout 10
        LogLevel ERROR
CONF
        /usr/sbin/sshd -t -f "$d/sshd_config" || die "sshd refuses $d/sshd_config"
        # -D: in the foreground, so $! is the listener.
        /usr/sbin/sshd -D -f "$d/sshd_config" -E "$d/sshd.log" </dev/null >/dev/null 2>&1 &
        echo $! >"$d/sshd.pid"
        peer_wait 30 port_open "$port" || die "sshd did not listen on $port (see $d/sshd.log)"
        peer_wait 30 login_ok "$d" || die "ssh -F $d/ssh_config hoist-login true fails (see $d/sshd.log)"
        cat >"$d/env" <<ENV
export SSHD_PEER_CONFIG=$d/ssh_config
export SSHD_PEER_HOST=hoist-login
export SSHD_PEER_PORT=$port
export SSHD_PEER_KEY=$d/id_ed25519
ENV
        cat "$d/env"
}

stop() {
        local d=$1 pid p
        [ -f "$d/sshd.pid" ] || return 0
        pid=$(cat "$d/sshd.pid")
        # Sessions, and the commands they run, descend from the listener and
        # outlive it otherwise.
        for p in $(peer_tree "$pid"); do
                [ "$p" = "$pid" ] || kill -9 "$p" 2>/dev/null || true
        done
        stop_pidfile "$d/sshd.pid"
        rm -f "$d/env"
}

[ $# -ge 2 ] || die "usage: sshd.sh start DIR [NAME=VALUE...] | stop DIR"
case $1 in
start)
        shift
        start "$@"
        ;;
stop) stop "$2" ;;
*) die "usage: sshd.sh start DIR [NAME=VALUE...] | stop DIR" ;;
esac
