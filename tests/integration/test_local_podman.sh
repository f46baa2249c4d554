#!/usr/bin/env bash
# The local provider under podman (with runc and the repo's containers.conf):
# the quickstart job in a libc-free busybox image that carries the entrypoint
# bundle, cancel of a running container, a failing container, and a resume
# under podman that ends with the same model as an uninterrupted run, and a
# plain `podman stop` that gives the entrypoint the job's stop grace.
. "$(dirname "$0")/lib.sh"

IMAGE=localhost/hoist-it-quickstart:$$
QS=$T_ROOT/examples/quickstart

command -v podman >/dev/null || { echo "not ok - podman is not installed (scripts/deps.sh installs it)"; echo "0 passed, 1 failed"; exit 1; }
"$T_ROOT/tests/peers/podman-image.sh" "$IMAGE" "$HOIST_BUILD/hoist-entrypoint-bundle.tar" "$HOIST_BIN/hoist-quickstart" >/dev/null ||
        { echo "not ok - build the test image"; echo "0 passed, 1 failed"; exit 1; }
t_defer "podman rmi -f $IMAGE >/dev/null 2>&1"
export HOIST_CONTAINER_ENGINE=podman

job_id_of() { sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$1"; }
model_of() { echo "$HOIST_HOME/storage/jobs/$1/output/model/model.bin"; }
container_exists() { podman container exists "hoist-$1"; }

write_job() { # DIR NAME STEPS [SLEEP-MS]
        mkdir -p "$1"
        cp -r "$QS/data" "$1/data"
        cat >"$1/job.yaml" <<YAML
name: $2
image: $IMAGE
command: ["/usr/local/bin/hoist-quickstart", "train"]
runtime: container
inputs:
  train: data/
hyperparameters:
  steps: $3
  seed: 7
  checkpoint_every: 100
  sleep_ms: ${4:-0}
limits:
  stop_grace: 10s
YAML
}

t_quickstart_podman() {
        new_home
        write_job "$T_TMP/q" quickstart 1500
        hoist submit --follow "$T_TMP/q/job.yaml" >"$T_TMP/q.out" 2>&1 || { cat "$T_TMP/q.out"; fail "submit failed"; }
        id=$(job_id_of "$T_TMP/q.out")
        [ "$(job_field "$id" runtime)" = podman ] || fail "did not run under podman"
        [ "$(job_field "$id" state)" = succeeded ] || fail "not succeeded"
        grep -q '"test_accuracy"' "$T_TMP/q.out" || fail "no training output streamed"
        [ -s "$(model_of "$id")" ] || fail "no model"
        ! container_exists "$id" || fail "finished container was not removed"
        # the same job as a host process gives the same model, bit for bit
        sed -i -e 's/^runtime: container/runtime: process/' -e 's|/usr/local/bin/hoist-quickstart|hoist-quickstart|' "$T_TMP/q/job.yaml"
        p=$(hoist submit -q "$T_TMP/q/job.yaml")
        hoist logs -f "$p" >/dev/null 2>&1 || fail "process run failed"
        cmp "$(model_of "$id")" "$(model_of "$p")" || fail "container and process models differ"
}

t_cancel_container() {
        new_home
        mkdir -p "$T_TMP/c"
        printf 'name: sleeper\nimage: %s\ncommand: ["sh", "-c", "echo started; sleep 300"]\nlimits:\n  stop_grace: 2s\n' "$IMAGE" >"$T_TMP/c/job.yaml"
        id=$(hoist submit -q "$T_TMP/c/job.yaml")
        wait_for 30 grep -q started "$HOIST_HOME/storage/jobs/$id/logs/main.log"
        [ "$(job_field "$id" state)" = running ] || fail "not running"
        hoist cancel -t 2 "$id" >/dev/null
        [ "$(job_field "$id" state)" = canceled ] || fail "state $(job_field "$id" state), not canceled"
        ! container_exists "$id" || fail "canceled container still exists"
}

t_failing_container() {
        new_home
        mkdir -p "$T_TMP/f"
        printf 'name: failing\nimage: %s\ncommand: ["sh", "-c", "echo oops >&2; exit 5"]\n' "$IMAGE" >"$T_TMP/f/job.yaml"
        set +e
        hoist submit --follow "$T_TMP/f/job.yaml" >"$T_TMP/f.out" 2>&1
        rc=$?
        set -e
        [ $rc = 6 ] || fail "exit $rc, not 6"
        id=$(job_id_of "$T_TMP/f.out")
        [ "$(job_field "$id" exit_code)" = 5 ] || fail "exit code not 5"
        job_field "$id" reason | grep_q oops || fail "reason lacks stderr"
}

t_resume_under_podman() {
        new_home
        write_job "$T_TMP/full" full 3000
        full=$(hoist submit -q "$T_TMP/full/job.yaml")
        write_job "$T_TMP/r" interrupted 3000 5
        id=$(hoist submit -q "$T_TMP/r/job.yaml")
        wait_for 60 sh -c "ls '$HOIST_HOME/storage/jobs/$id/checkpoints' | grep -q ckpt-"
        hoist cancel "$id" >/dev/null          # SIGTERM: the trainer checkpoints and stops
        s=$(job_field "$id" state)
        [ "$s" = canceled ] || fail "state $s, not canceled"
        hoist submit --resume "$id" --follow >"$T_TMP/r.out" 2>&1 || { cat "$T_TMP/r.out"; fail "resume failed"; }
        grep -q '"resumed"' "$T_TMP/r.out" || fail "did not resume"
        hoist logs -f "$full" >/dev/null 2>&1 || fail "full run failed"
        cmp "$(model_of "$full")" "$(model_of "$id")" || fail "resumed model differs"
}

# An image that is neither here nor in its registry is refused before the
# inputs go up, in one line that names it and says what to do.
t_missing_image() {
        new_home
        write_job "$T_TMP/mi" missing 10
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        sed -i "s|^image: .*|image: 127.0.0.1:$port/hoist-no-such-image:1|" "$T_TMP/mi/job.yaml"
        set +e
        hoist submit "$T_TMP/mi/job.yaml" >"$T_TMP/mi.out" 2>"$T_TMP/mi.err"
        rc=$?
        set -e
        cat "$T_TMP/mi.err" >&2
        [ $rc = 4 ] || fail "exit $rc, not 4"
        [ "$(grep -c 'error' "$T_TMP/mi.err")" = 1 ] || fail "not one error line"
        grep -q "error: .*job.yaml': image '127.0.0.1:$port/hoist-no-such-image:1' is not on this machine and podman cannot pull it (connection refused): build it" "$T_TMP/mi.err" ||
                fail "the error does not name the image and what to do"
        ! grep -q "Trying to pull\|level=warning\|retrying" "$T_TMP/mi.err" || fail "raw podman output"
        [ ! -e "$HOIST_HOME/storage/blobs" ] || fail "inputs were uploaded"
        [ "$(hoist list -o json)" = "[]" ] || fail "a job row was written"
}

# The container carries the job's stop grace (--stop-timeout), so a plain
# `podman stop`, whose own default is 10 s, lets the entrypoint give its
# command the whole grace: here 11 s to finish after SIGTERM.
t_plain_podman_stop_gives_the_grace() {
        new_home
        mkdir -p "$T_TMP/g"
        cat >"$T_TMP/g/job.yaml" <<YAML
name: graceful
image: $IMAGE
command: ["sh", "-c", "trap 'sleep 11; echo finished cleanly; exit 0' TERM; echo started; while :; do sleep 1; done"]
limits:
  stop_grace: 15s
YAML
        id=$(hoist submit -q "$T_TMP/g/job.yaml")
        t_defer "podman rm -f hoist-$id >/dev/null 2>&1"
        wait_for 60 grep -q started "$HOIST_HOME/storage/jobs/$id/logs/main.log"
        [ "$(podman inspect --format '{{.Config.StopTimeout}}' "hoist-$id")" -ge 15 ] || fail "stop timeout under the job's grace"
        podman stop "hoist-$id" >/dev/null
        [ "$(podman inspect --format '{{.State.ExitCode}}' "hoist-$id")" = 0 ] || fail "container exit $(podman inspect --format '{{.State.ExitCode}}' "hoist-$id"), not 0"
        hoist logs "$id" | grep_q "finished cleanly" || fail "the command did not get its grace"
        s=$(job_field "$id" state)
        [ "$s" = interrupted ] || fail "state $s, not interrupted"
        [ "$(job_field "$id" exit_code)" = 0 ] || fail "exit code $(job_field "$id" exit_code), not 0"
}

t_run "quickstart job under podman, busybox image, entrypoint bundle" t_quickstart_podman
t_run "cancel a running container" t_cancel_container
t_run "a plain podman stop gives the entrypoint the job's stop grace" t_plain_podman_stop_gives_the_grace
t_run "failing container: exit code and reason" t_failing_container
t_run "cancel then resume under podman gives the uninterrupted model" t_resume_under_podman
t_run "a missing image is refused before any upload, in one line" t_missing_image
t_finish
