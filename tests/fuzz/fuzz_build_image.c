/* SPDX-License-Identifier: MIT */
/*
 * What `hoist build` reads from a registry or the local store about a base
 * image: its manifest and its config.  Any bytes must give a result or an
 * error, never a crash or a leak.  A config that parses must survive the
 * builder's edits, serialise, and parse again to the same document.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "runner/image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_manifest(const uint8_t *data, size_t size)
{
        struct hoist_error *err = NULL;
        char *cfg = NULL;
        struct image_layer *layers = NULL;
        size_t n = 0;

        if (image_manifest_parse((const char *)data, size, "fuzz", &cfg, &layers, &n, &err) < 0) {
                if (err == NULL)
                        abort();
                hoist_error_free(err);
                return;
        }
        for (size_t i = 0; i < n; i++)
                if (layers[i].digest == NULL || layers[i].media_type == NULL || layers[i].size < 0)
                        abort();
        image_layers_free(layers, n);
        free(cfg);
}

static void check_config(const uint8_t *data, size_t size)
{
        static const char *const argv[] = {"/bin/x", NULL};
        struct hoist_error *err = NULL;
        struct image_config *c = image_config_parse((const char *)data, size, "fuzz", &err);
        struct image_config *again;
        char *s1, *s2, *state;
        char **env;

        if (c == NULL) {
                if (err == NULL)
                        abort();
                hoist_error_free(err);
                return;
        }
        env = image_config_env(c);
        strv_free(env);
        (void)image_config_get_env(c, "PATH");
        image_config_set_env(c, "PATH", "/bin");
        image_config_set_argv(c, "Cmd", argv);
        image_config_set_label(c, "k", "v");
        image_config_add_port(c, "80");
        image_config_add_layer(c, "sha256:00", "fuzz");
        for (size_t i = 0; i < image_config_layer_count(c); i++)
                (void)image_config_diff_id(c, i);
        state = image_config_state(c);
        if (image_config_set_state(c, state, &err) < 0)
                abort();
        s1 = image_config_serialize(c, 0);
        again = image_config_parse(s1, strlen(s1), "again", &err);
        if (again == NULL)
                abort();
        s2 = image_config_serialize(again, 0);
        if (strcmp(s1, s2) != 0)
                abort();
        free(s1);
        free(s2);
        free(state);
        image_config_free(again);
        image_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        check_manifest(data, size);
        check_config(data, size);
        return 0;
}
