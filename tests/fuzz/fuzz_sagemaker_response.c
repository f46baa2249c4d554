/* SPDX-License-Identifier: MIT */
/*
 * What the SageMaker provider and the JSON 1.1 client read back from AWS:
 * DescribeTrainingJob, ListTrainingJobs, ECR GetAuthorizationToken and
 * error bodies.  Any bytes give a status, a list, a token or an error,
 * never a crash or a leak; a status maps to a state with a reason that
 * names the job.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "awsjson.h"
#include "ecr.h"
#include "cleanup.h"
#include "error.h"
#include "providers/sagemaker_api.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void describe(const char *text, size_t size)
{
        struct sagemaker_job j = {0};
        struct provider_status st = {0};
        struct hoist_error *err = NULL;
        int r = sagemaker_parse_describe(text, size, &j, &err);

        if ((r < 0) != (err != NULL))
                abort();
        if (r < 0) {
                hoist_error_release(&err);
                return;
        }
        if (j.name == NULL || j.status == NULL || j.instance_count < 1)
                abort();
        sagemaker_map_status(&j, &st);
        if ((int)st.state < 0 || (int)st.state >= JOB_STATE_COUNT)
                abort();
        if (st.reason != NULL && strstr(st.reason, j.name) == NULL)
                abort();
        provider_status_clear(&st);
        sagemaker_job_clear(&j);
}

static void list_and_token(const char *text, size_t size)
{
        json_t *o = json_loadb(text, size, 0, NULL);
        struct sagemaker_summary *s = NULL;
        struct hoist_error *err = NULL;
        char *next = NULL, *user = NULL, *pass = NULL;
        size_t n = 0;

        if (o == NULL)
                return;
        if (sagemaker_parse_list(o, &s, &n, &next, &err) == 0) {
                for (size_t i = 0; i < n; i++) {
                        char *id = NULL;
                        int64_t attempt = 0;
                        if (s[i].name == NULL)
                                abort();
                        if (sagemaker_job_name_parse(s[i].name, &id, &attempt) == 0) {
                                char *again = sagemaker_job_name(id, attempt);
                                if (again == NULL || strcmp(again, s[i].name) != 0)
                                        abort();
                                free(again);
                                free(id);
                        }
                }
                sagemaker_summaries_free(s, n);
                free(next);
        } else {
                hoist_error_release(&err);
        }
        if (ecr_parse_token(o, &user, &pass, &err) == 0) {
                if (*user == '\0' || strchr(user, ':') != NULL)
                        abort();
                free(user);
                free(pass);
        } else {
                hoist_error_release(&err);
        }
        json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xstrndup((const char *)data, size);
        struct awsjson_error e;

        describe(text, strlen(text));
        list_and_token(text, strlen(text));
        awsjson_parse_error(text, strlen(text), &e);
        if (e.code != NULL && (strchr(e.code, '#') != NULL || strchr(e.code, ':') != NULL))
                abort();
        awsjson_error_clear(&e);
        return 0;
}
