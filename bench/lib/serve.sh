# bench/lib/serve.sh: `hoist serve` as the S3 peer of a bench, on a free
# loopback port.  Source it; the caller defines die().
#
#   bench_serve_start HOIST DIR   HOIST_HOME=DIR/home; sets SERVE_PID, EP
#                                 (http://127.0.0.1:PORT), AK and SK
#   bench_serve_stop              TERM, then wait (for the EXIT trap)

SERVE_PID=

bench_serve_start() {
        local hoist=$1 dir=$2
        export HOIST_HOME=$dir/home
        mkdir -p "$HOIST_HOME"
        "$hoist" serve --listen 127.0.0.1:0 --print-credentials >"$dir/serve.out" 2>"$dir/serve.err" &
        SERVE_PID=$!
        for _ in $(seq 100); do
                grep -q '^secret_key=' "$dir/serve.out" 2>/dev/null && break
                kill -0 "$SERVE_PID" 2>/dev/null || { cat "$dir/serve.err" >&2; die "hoist serve exited"; }
                sleep 0.1
        done
        EP=$(sed -n "s|^hoist serve: S3 endpoint \(http://[0-9.:]*\) (bucket 'hoist')$|\1|p" "$dir/serve.out")
        [ -n "$EP" ] || { cat "$dir/serve.err" >&2; die "hoist serve printed no endpoint"; }
        AK=$(sed -n 's/^access_key=//p' "$dir/serve.out")
        SK=$(sed -n 's/^secret_key=//p' "$dir/serve.out")
}

bench_serve_stop() {
        if [ -n "$SERVE_PID" ]; then
                kill -TERM "$SERVE_PID" 2>/dev/null || true
                wait "$SERVE_PID" 2>/dev/null || true
                SERVE_PID=
        fi
}
