/* SPDX-License-Identifier: MIT */
/*
 * What the replicate provider and hoist serve read from Replicate: a
 * training (GET /v1/trainings/{id}, and every webhook's body), a page of
 * versions, the account, the hardware list, a file object, error bodies
 * and Retry-After values.  Any bytes give a training, a list, an account,
 * a file or an error, never a crash or a leak; a training's status maps
 * to a state whose reason names the training, and a webhook body becomes
 * an event of hoist's own shape or an error.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient.h"
#include "cleanup.h"
#include "error.h"
#include "providers/replicate_api.h"
#include "runner/serve/hooks_replicate.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void training(const char *text, size_t size)
{
        struct replicate_training t = {0};
        struct provider_status st = {0};
        struct hoist_error *err = NULL;
        char *type = NULL, *status = NULL, *event = NULL;
        int r = replicate_training_parse(text, size, &t, &err);

        if ((r < 0) != (err != NULL))
                abort();
        if (r < 0) {
                hoist_error_release(&err);
                return;
        }
        if (t.id == NULL || t.status == NULL || (t.predict_time < 0 && t.predict_time != -1))
                abort();
        replicate_map_status(&t, &st);
        if ((int)st.state < 0 || (int)st.state >= JOB_STATE_COUNT)
                abort();
        if (st.reason != NULL && strstr(st.reason, t.id) == NULL)
                abort();
        provider_status_clear(&st);
        replicate_training_clear(&t);
        if (hooks_replicate_event(text, size, "j-0123456789ab", 1, "msg_1", 1700000000, &type,
                                  &status, &event, &err) == 0) {
                json_t *o = json_loads(event, 0, NULL);
                if (!json_is_object(o) ||
                    (strncmp(type, "job.", 4) != 0 && strncmp(type, "replicate.", 10) != 0))
                        abort();
                json_decref(o);
                free(type);
                free(status);
                free(event);
        } else {
                hoist_error_release(&err);
        }
}

static void others(const char *text, size_t size)
{
        json_t *o = json_loadb(text, size, 0, NULL), *schema = json_object();
        struct hoist_error *err = NULL;
        struct replicate_file f = {0};
        char *user = NULL, *type = NULL, *id = NULL, *next = NULL, **skus = NULL;

        if (o != NULL) {
                if (replicate_account_parse(o, &user, &type, &err) == 0) {
                        if (*user == '\0')
                                abort();
                        free(user);
                        free(type);
                } else {
                        hoist_error_release(&err);
                }
                if (replicate_hardware_parse(o, &skus, &err) == 0)
                        strv_free(skus);
                else
                        hoist_error_release(&err);
                if (replicate_versions_find(o, schema, &id, &next, &err) == 0) {
                        free(id);
                        free(next);
                } else {
                        hoist_error_release(&err);
                }
                if (replicate_file_from_json(o, &f, &err) == 0) {
                        if (f.id == NULL || f.url == NULL)
                                abort();
                        replicate_file_clear(&f);
                } else {
                        hoist_error_release(&err);
                }
        }
        json_decref(schema);
        json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = xstrndup((const char *)data, size);
        _cleanup_free_ char *msg = NULL;

        training(text, strlen(text));
        others(text, strlen(text));
        msg = apiclient_error_message(text, strlen(text));
        if (msg != NULL && (strlen(msg) > 400 || strchr(msg, '\n') != NULL))
                abort();
        (void)apiclient_retry_after_ms(text, 1700000000);
        return 0;
}
