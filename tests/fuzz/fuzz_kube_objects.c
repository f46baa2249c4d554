/* SPDX-License-Identifier: MIT */
/*
 * What the kubernetes provider reads back from an API server, which it
 * does not trust: a Job and its pods ({"job": {...}, "pods": [...]}) mapped
 * to a state, and its own kubernetes.json settings.  Any bytes give a
 * state in range (with a reason where the table gives one), never a crash
 * or a leak.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "providers/kubernetes_settings.h"
#include "providers/kubernetes_state.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        json_t *o = json_loadb((const char *)data, size, 0, NULL);
        struct kubernetes_settings *s = NULL;
        struct hoist_error *err = NULL;
        struct provider_status st;

        if (o != NULL) {
                json_t *pods = json_object_get(o, "pods");
                kubernetes_map_status(json_object_get(o, "job"), json_is_array(pods) ? pods : NULL,
                                      &st);
                if ((int)st.state < 0 || (int)st.state >= JOB_STATE_COUNT)
                        abort();
                if (st.state == JOB_SUCCEEDED && st.exit_code != 0)
                        abort();
                provider_status_clear(&st);
                json_decref(o);
        }
        if (kubernetes_settings_from_json((const char *)data, size, "kubernetes.json", &s, &err) ==
            0) {
                char *text = kubernetes_settings_to_json(s);
                if (text == NULL)
                        abort();
                free(text);
                kubernetes_settings_free(s);
        } else {
                hoist_error_release(&err);
        }
        return 0;
}
