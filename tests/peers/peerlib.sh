# shellcheck shell=bash
# Sourced by the peer scripts in tests/peers/: what starting and stopping a
# loopback peer needs.  Waits poll against a deadline; peers are stopped by
# PID, never by name.

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# port_open PORT: whether something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# peer_wait SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds;
# non-zero once SECONDS have passed.
peer_wait() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@" >/dev/null 2>&1; do
                [ $SECONDS -lt "$deadline" ] || return 1
                sleep 0.1
        done
}

# peer_alive PID: running or sleeping, not a zombie (PID 1 here may be slow to
# reap the daemons that forked away from their starter).
peer_alive() {
        local s
        s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
        [ -n "$s" ] && [ "${s:0:1}" != Z ]
}

# peer_tree PID: PID and its descendants, parents first.
peer_tree() {
        local c
        echo "$1"
        for c in $(ps -o pid= --ppid "$1"); do peer_tree "$c"; done
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL if it is still there after
# SECONDS (default 10).
stop_pid() {
        local pid=$1 deadline=$((SECONDS + ${2:-10}))
        kill "$pid" 2>/dev/null || return 0
        while peer_alive "$pid"; do
                if [ $SECONDS -ge "$deadline" ]; then
                        kill -9 "$pid" 2>/dev/null || true
                        break
                fi
                sleep 0.1
        done
}

# stop_pidfile FILE [SECONDS]: stop_pid on the PID in FILE, then remove FILE.
stop_pidfile() {
        [ -f "$1" ] || return 0
        stop_pid "$(cat "$1")" "${2:-10}"
        rm -f "$1"
}
