#!/usr/bin/env bash
# The quickstart: builds the example trainer's image (no network: busybox-static
# + the entrypoint bundle + the trainer), submits examples/quickstart/job.yaml
# with the embedded defaults (local provider, file:// storage under
# $HOIST_HOME, SQLite store), follows it to the end and fetches the model.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/containers.conf}
export PATH=$root/bin:$PATH

make -s all bundle
if command -v podman >/dev/null; then
        tests/peers/podman-image.sh localhost/hoist-quickstart:latest \
                build/hoist-entrypoint-bundle.tar bin/hoist-quickstart >/dev/null
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
hoist submit --follow examples/quickstart/job.yaml | tee "$out"
id=$(sed -n 's/^submitted job \(j-[0-9a-f]*\)$/\1/p' "$out")
hoist results "$id" "quickstart-model"
echo "trained model: $root/quickstart-model/model/model.bin"
bin/hoist-quickstart eval --model quickstart-model/model/model.bin --data examples/quickstart/data
