/* SPDX-License-Identifier: MIT */
#include "runner/cli/cli.h"
#include "runner/image/imagecmd.h"

static const char usage[] =
        "usage: hoist push [--insecure] [-q] [-j N] LOCAL_REF [REMOTE_REF]\n"
        "\n"
        "Pushes an image from the local image store ($HOIST_HOME/images, an OCI\n"
        "layout) to a registry: to REMOTE_REF, or to LOCAL_REF when it names a\n"
        "registry host (\"127.0.0.1:5000/team/trainer:v1\").  Blobs the registry\n"
        "has are skipped; blobs of another repository of the same registry that\n"
        "this store pushed before are mounted, not uploaded.  Prints the pushed\n"
        "manifest's digest on stdout and a summary on stderr (\"pushed REF: 3 blobs,\n"
        "2 uploaded (41.2 MiB), 1 already there; digest sha256:...\").\n"
        "\n"
        "On a terminal, stderr shows a line per blob, redrawn in place:\n"
        "  sha256:3f2a1b9c0d4e  40.0 MiB  uploading 12.0 MiB/40.0 MiB (30%)\n"
        "with the states waiting, uploading, exists (the registry has it), mounted\n"
        "(from another repository) and pushed.  Elsewhere only the summary shows,\n"
        "unless HOIST_PROGRESS=lines (a line at each blob's change of state);\n"
        "HOIST_PROGRESS=none hides the blob lines on a terminal too.\n"
        "\n" IMAGECMD_OPTIONS_HELP "\n"
        "Credentials: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,\n"
        "$DOCKER_CONFIG/config.json or ~/.docker/config.json (auths, credHelpers,\n"
        "credsStore), or HOIST_REGISTRY_USER + HOIST_REGISTRY_PASSWORD.  An ECR\n"
        "registry (<account>.dkr.ecr.<region>.amazonaws.com) gets a token from ECR's\n"
        "GetAuthorizationToken with the AWS credentials and region of the AWS chain\n"
        "(HOIST_ECR_ENDPOINT, HOIST_ECR_REGISTRY: test and VPC-endpoint hooks).\n"
        "HOIST_INSECURE_REGISTRIES: comma-separated hosts that may be reached over\n"
        "plain http (https is tried first, as for 127.0.0.1 and localhost).\n"
        "CURL_CA_BUNDLE or SSL_CERT_FILE: the CA certificates https trusts.\n"
        "HOIST_REGISTRY_CHUNK_SIZE: blobs larger than this many bytes are uploaded\n"
        "in chunks of it (default 33554432; 0: always one PUT).\n"
        "HOIST_REGISTRY_RETRIES: tries of one request on 408, 429, 5xx and network\n"
        "errors (default 5, waits growing from 0.5 s; Retry-After is honoured).\n";

int cmd_push(int argc, char **argv, struct hoist_error **err)
{
        return imagecmd_main(1, usage, argc, argv, err);
}
