/* SPDX-License-Identifier: MIT */
/*
 * The YAML loader, and job.yaml and $HOIST_HOME/config.yaml on top of it.  The anchor directory
 * does not exist, so every input path fails to resolve: the fuzzer explores the parser and the
 * schema, not this machine's files.
 */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "runner/cli/homeconfig.h"
#include "runner/job/jobfile.h"

#define FUZZ_PATH "/nonexistent-hoist-fuzz/job.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct config_node *root = NULL;
        struct jobfile *jf = NULL;
        struct homeconfig *hc = NULL;
        struct hoist_error *err = NULL;

        if (config_parse((const char *)data, size, FUZZ_PATH, &root, &err) == 0)
                config_node_free(root);
        hoist_error_release(&err);

        if (jobfile_parse((const char *)data, size, FUZZ_PATH, &jf, &err) == 0)
                jobfile_free(jf);
        hoist_error_release(&err);

        if (homeconfig_parse((const char *)data, size, FUZZ_PATH, &hc, &err) == 0)
                homeconfig_free(hc);
        hoist_error_release(&err);
        return 0;
}
