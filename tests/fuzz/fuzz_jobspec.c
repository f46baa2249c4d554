/* SPDX-License-Identifier: MIT */
/*
 * job.json and result.json parsers: any bytes must give a spec or an error,
 * never a crash or a leak.  What parses must also write and read back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct jobspec *spec = NULL;
        struct jobspec_result *res = NULL;
        struct hoist_error *err = NULL;

        if (jobspec_parse((const char *)data, size, "fuzz.json", &spec, &err) == 0) {
                char *json = jobspec_to_json(spec);
                struct jobspec *back = NULL;

                (void)jobspec_validate(spec, &err);
                hoist_error_release(&err);
                if (jobspec_parse(json, strlen(json), "fuzz.json", &back, &err) < 0)
                        abort(); /* what we write we must read */
                jobspec_free(back);
                free(json);
                jobspec_free(spec);
        }
        hoist_error_release(&err);

        if (jobspec_result_parse((const char *)data, size, "fuzz.json", &res, &err) == 0) {
                char *json = jobspec_result_to_json(res);
                struct jobspec_result *back = NULL;

                if (jobspec_result_parse(json, strlen(json), "fuzz.json", &back, &err) < 0)
                        abort();
                jobspec_result_free(back);
                free(json);
                jobspec_result_free(res);
        }
        hoist_error_release(&err);
        return 0;
}
