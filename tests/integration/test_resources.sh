#!/usr/bin/env bash
# resources: in job.yaml (docs/job.md "resources") through the local
# provider: a GPU request this machine cannot meet is refused at submit
# before anything is uploaded or stored; with the fake NVML
# (tests/fake_nvml) a process job gets CUDA_VISIBLE_DEVICES and a model it
# does not have is refused naming what there is; cpus and memory become
# the container's limits (podman inspect); GPUs reach a podman container as
# CDI devices.  No GPU here: the CDI test writes a stand-in spec for
# nvidia.com/gpu to /var/run/cdi (podman 4.3 reads no other directory) and
# removes it; it is skipped where a real NVIDIA spec is installed.
. "$(dirname "$0")/lib.sh"

FAKE=$HOIST_BUILD/tests/fake_nvml/libnvidia-ml.so.1
IMAGE=localhost/hoist-it-resources:$$
[ -f "$FAKE" ] || { echo "not ok - $FAKE is missing (make tools)"; echo "0 passed, 1 failed"; exit 1; }

job_id_of() { sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$1"; }

# job.yaml in DIR: a process that prints what it was given, and RESOURCES
# (YAML flow mapping), with one input so that an upload would show.
write_job() { # DIR RESOURCES
        mkdir -p "$1/data"
        echo "some input" >"$1/data/a.txt"
        cat >"$1/job.yaml" <<YAML
name: resources
runtime: process
command: ["sh", "-c", "echo CVD=\$CUDA_VISIBLE_DEVICES ORDER=\$CUDA_DEVICE_ORDER"]
inputs:
  train: data/
resources: $2
YAML
}

fake_gpus() { # COUNT NAME
        printf 'device_count=%s\nname=%s\n' "$1" "$2" >"$T_TMP/nvml.conf"
        export HOIST_NVML_LIBRARY=$FAKE FAKE_NVML_CONFIG=$T_TMP/nvml.conf
}

# nothing of a refused submit stays: no stored object, no job row, no run dir
assert_nothing_left() {
        [ -z "$(find "$HOIST_HOME/storage" -type f 2>/dev/null)" ] || fail "something was uploaded"
        [ -z "$(ls -A "$HOIST_HOME/run" 2>/dev/null)" ] || fail "a run dir was made"
        [ "$(hoist list -o json)" = "[]" ] || fail "a job row was stored: $(hoist list)"
}

t_no_gpu_refused() {
        new_home
        export HOIST_CONTAINER_ENGINE=none HOIST_NVML_LIBRARY=$T_TMP/none/libnvidia-ml.so.1
        local path=/usr/local/bin:/usr/bin:/bin rc=0
        if PATH=$path command -v nvidia-smi >/dev/null; then
                echo "skip: this machine has nvidia-smi, so it may have a GPU"
                return 0
        fi
        write_job "$T_TMP/nogpu" "{gpus: 1}"
        PATH=$path hoist submit "$T_TMP/nogpu/job.yaml" >"$T_TMP/nogpu.out" 2>"$T_TMP/nogpu.err" || rc=$?
        cat "$T_TMP/nogpu.err"
        [ "$rc" = 3 ] || fail "exit $rc, not 3"
        grep -qx "hoist: error: '$T_TMP/nogpu/job.yaml':6: resources.gpus asks for 1 GPU, but this machine has none ($T_TMP/none/libnvidia-ml.so.1 not found; nvidia-smi not found)" "$T_TMP/nogpu.err" ||
                fail "the error does not name the request and what the machine has"
        [ ! -s "$T_TMP/nogpu.out" ] || fail "submit printed a job id"
        assert_nothing_left
}

t_process_gets_cuda_visible_devices() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        fake_gpus 2 "NVIDIA H100 80GB HBM3"
        write_job "$T_TMP/p2" '{gpus: "H100:2", cpus: 1, memory: 64MiB}'
        hoist submit --follow "$T_TMP/p2/job.yaml" >"$T_TMP/p2.out" 2>"$T_TMP/p2.err" ||
                { cat "$T_TMP/p2.out" "$T_TMP/p2.err"; fail "submit failed"; }
        grep -qx "CVD=0,1 ORDER=PCI_BUS_ID" "$T_TMP/p2.out" || { cat "$T_TMP/p2.out"; fail "no CUDA_VISIBLE_DEVICES=0,1"; }
        id=$(job_id_of "$T_TMP/p2.out")
        python3 - "$HOIST_HOME/storage/jobs/$id/job.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["resources"]
assert r == {"gpus": 2, "gpu_type": "H100", "cpus": 1, "memory_bytes": 67108864}, r
PY
        write_job "$T_TMP/p1" "{gpus: 1}"
        hoist submit --follow "$T_TMP/p1/job.yaml" >"$T_TMP/p1.out" 2>"$T_TMP/p1.err" ||
                { cat "$T_TMP/p1.out" "$T_TMP/p1.err"; fail "submit failed"; }
        grep -qx "CVD=0 ORDER=PCI_BUS_ID" "$T_TMP/p1.out" || { cat "$T_TMP/p1.out"; fail "no CUDA_VISIBLE_DEVICES=0"; }
}

# --resume chooses the GPUs again: gone since, the new attempt fails naming why.
t_resume_chooses_again() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        fake_gpus 2 "NVIDIA H100 80GB HBM3"
        write_job "$T_TMP/rs" "{gpus: 1}"
        hoist submit --follow "$T_TMP/rs/job.yaml" >"$T_TMP/rs.out" 2>"$T_TMP/rs.err" ||
                { cat "$T_TMP/rs.out" "$T_TMP/rs.err"; fail "submit failed"; }
        id=$(job_id_of "$T_TMP/rs.out")
        fake_gpus 0 ""
        rc=0
        hoist submit --resume "$id" --force >/dev/null 2>"$T_TMP/rs2.err" || rc=$?
        [ "$rc" != 0 ] || fail "resume without a GPU succeeded"
        grep -qF "resources.gpus asks for 1 GPU, but this machine has none (NVML reports no GPU)" "$T_TMP/rs2.err" ||
                { cat "$T_TMP/rs2.err"; fail "resume: the error does not say why"; }
        [ "$(job_field "$id" state)" = failed ] || fail "state is $(job_field "$id" state)"
        job_field "$id" reason | grep_q "resources.gpus asks for 1 GPU" || fail "the reason lacks the request"
        fake_gpus 1 "NVIDIA H100 80GB HBM3"
        hoist submit --resume "$id" --follow >"$T_TMP/rs3.out" 2>"$T_TMP/rs3.err" ||
                { cat "$T_TMP/rs3.out" "$T_TMP/rs3.err"; fail "resume with a GPU failed"; }
        grep -qx "CVD=0 ORDER=PCI_BUS_ID" "$T_TMP/rs3.out" || { cat "$T_TMP/rs3.out"; fail "no CUDA_VISIBLE_DEVICES=0"; }
}

t_unmet_requests_refused() {
        new_home
        export HOIST_CONTAINER_ENGINE=none
        fake_gpus 2 "NVIDIA H100 80GB HBM3"
        local rc
        refused() { # RESOURCES MESSAGE
                rc=0
                write_job "$T_TMP/r" "$1"
                hoist submit "$T_TMP/r/job.yaml" >/dev/null 2>"$T_TMP/r.err" || rc=$?
                [ "$rc" = 3 ] || { cat "$T_TMP/r.err"; fail "$1: exit $rc, not 3"; }
                grep -qF "$2" "$T_TMP/r.err" || { cat "$T_TMP/r.err"; fail "$1: no '$2'"; }
        }
        refused '{gpus: "A100:1"}' "resources.gpus asks for 1 A100 GPU, but this machine has none of that model (NVML: 2 x NVIDIA H100 80GB HBM3)"
        refused "{gpus: 4}" "resources.gpus asks for 4 GPUs, but this machine has 2 (NVML: 2 x NVIDIA H100 80GB HBM3)"
        refused "{cpus: 100000}" "field 'resources.cpus': expected a number of CPUs like 8"
        refused "{cpus: 4096}" "resources.cpus asks for 4096 CPUs, but this machine has"
        refused "{memory: 64TiB}" "resources.memory asks for 64 TiB, but this machine has"
        refused "{disk: 8000000TiB}" "resources.disk asks for 8000000 TiB, but the filesystem of '$HOIST_HOME/run' has"
        refused "{spot: true}" "resources.spot: the local provider runs the job on this machine, which is not a spot instance"
        refused "{memory: 32GB}" "'32GB' is ambiguous"
        assert_nothing_left
}

build_image() {
        command -v podman >/dev/null || { echo "podman is not installed (scripts/deps.sh installs it)"; return 1; }
        "$T_ROOT/tests/peers/podman-image.sh" "$IMAGE" "$HOIST_BUILD/hoist-entrypoint-bundle.tar" \
                "$HOIST_BIN/hoist-quickstart" >/dev/null
}

t_container_limits() {
        new_home
        export HOIST_CONTAINER_ENGINE=podman
        mkdir -p "$T_TMP/c"
        printf 'name: limits\nimage: %s\nruntime: container\ncommand: ["sh", "-c", "echo started; sleep 300"]\nlimits:\n  stop_grace: 2s\nresources:\n  cpus: 1\n  memory: 256MiB\n' \
                "$IMAGE" >"$T_TMP/c/job.yaml"
        hoist submit "$T_TMP/c/job.yaml" >"$T_TMP/c.out" 2>"$T_TMP/c.err" ||
                { cat "$T_TMP/c.err"; fail "submit failed"; }
        id=$(job_id_of "$T_TMP/c.out")
        t_defer "podman rm -f hoist-$id >/dev/null 2>&1"
        wait_for 60 podman container exists "hoist-$id"
        got=$(podman inspect --format '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}' "hoist-$id")
        [ "$got" = "1000000000 268435456" ] || fail "NanoCpus and Memory are '$got'"
        hoist cancel "$id" >/dev/null
}

# podman gets nvidia.com/gpu=N (or =all) from a CDI spec; a stand-in spec
# whose devices set an environment variable shows which one the container got.
t_container_gpus_through_cdi() {
        local spec=/var/run/cdi/hoist-test-$$.yaml f
        for f in /etc/cdi/* /var/run/cdi/*; do
                if [ -f "$f" ] && grep -q 'nvidia.com/gpu' "$f"; then
                        echo "skip: $f is a CDI spec for nvidia.com/gpu already"
                        return 0
                fi
        done
        new_home
        export HOIST_CONTAINER_ENGINE=podman
        fake_gpus 2 "NVIDIA H100 80GB HBM3"
        mkdir -p "$T_TMP/g"
        write_gpu_job() { # RESOURCES
                printf 'name: gpus\nimage: %s\nruntime: container\ncommand: ["sh", "-c", "echo CDI=$HOIST_TEST_CDI"]\nresources: %s\n' \
                        "$IMAGE" "$1" >"$T_TMP/g/job.yaml"
        }
        write_gpu_job "{gpus: 1}"
        rc=0
        hoist submit "$T_TMP/g/job.yaml" >/dev/null 2>"$T_TMP/g.err" || rc=$?
        [ "$rc" = 3 ] || fail "no CDI spec: exit $rc, not 3"
        grep -qF "resources.gpus: podman gives a container GPUs through CDI, and no CDI spec for nvidia.com/gpu is in /etc/cdi /var/run/cdi" "$T_TMP/g.err" ||
                { cat "$T_TMP/g.err"; fail "no CDI spec: the error does not say so"; }

        [ -d /var/run/cdi ] || { mkdir -p /var/run/cdi && t_defer "rmdir /var/run/cdi"; }
        t_defer "rm -f $spec"
        cat >"$spec" <<'YAML'
cdiVersion: 0.5.0
kind: nvidia.com/gpu
devices:
- name: "0"
  containerEdits:
    env: ["HOIST_TEST_CDI=0"]
- name: "1"
  containerEdits:
    env: ["HOIST_TEST_CDI=1"]
- name: all
  containerEdits:
    env: ["HOIST_TEST_CDI=all"]
YAML
        hoist submit --follow "$T_TMP/g/job.yaml" >"$T_TMP/g1.out" 2>"$T_TMP/g1.err" ||
                { cat "$T_TMP/g1.out" "$T_TMP/g1.err"; fail "gpus: 1 failed"; }
        grep -qx "CDI=0" "$T_TMP/g1.out" || { cat "$T_TMP/g1.out"; fail "the container did not get nvidia.com/gpu=0"; }
        write_gpu_job "{gpus: 2}"
        hoist submit --follow "$T_TMP/g/job.yaml" >"$T_TMP/g2.out" 2>"$T_TMP/g2.err" ||
                { cat "$T_TMP/g2.out" "$T_TMP/g2.err"; fail "gpus: 2 failed"; }
        grep -qx "CDI=all" "$T_TMP/g2.out" || { cat "$T_TMP/g2.out"; fail "the container did not get nvidia.com/gpu=all"; }
}

t_run "no GPU here: gpus: 1 is refused at submit, nothing uploaded or stored" t_no_gpu_refused
t_run "fake NVML: a process job gets CUDA_VISIBLE_DEVICES, job.json carries resources" t_process_gets_cuda_visible_devices
t_run "requests the machine cannot meet are refused naming what it has" t_unmet_requests_refused
t_run "--resume chooses the GPUs again, and says why when they are gone" t_resume_chooses_again
if build_image; then
        t_defer "podman rmi -f $IMAGE >/dev/null 2>&1"
        t_run "cpus and memory become podman's --cpus and --memory" t_container_limits
        t_run "GPUs reach a podman container as CDI devices" t_container_gpus_through_cdi
else
        echo "not ok - build the test image"
        T_FAILED=$((T_FAILED + 1))
fi
t_finish
