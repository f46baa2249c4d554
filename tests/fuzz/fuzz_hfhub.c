/* SPDX-License-Identifier: MIT */
/*
 * What lib/hfhub parses from the Hugging Face Hub (or whatever answers at
 * HF_ENDPOINT): preupload, LFS batch and commit answers and error bodies,
 * plus the repo ids and paths a job.yaml names.  The first byte picks the
 * parser, the rest is its input.  Any bytes must give a result or an
 * error, never a crash or a leak; what parses must hold together (part
 * URLs for every part, an oid of 64 hex digits).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hfhub.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void preupload(const char *body, size_t len)
{
        struct hfhub_file f[3] = {
                {.path = (char *)"model.safetensors"},
                {.path = (char *)"config.json"},
                {.path = (char *)"a/b.txt"},
        };
        struct hoist_error *err = NULL;
        int r = hfhub_parse_preupload(body, len, f, 3, &err);

        if ((r < 0) != (err != NULL))
                abort();
        hoist_error_release(&err);
}

static void lfs_batch(const char *body, size_t len)
{
        struct hfhub_lfs_object *o = NULL;
        struct hoist_error *err = NULL;
        size_t n = 0;
        int r = hfhub_parse_lfs_batch(body, len, &o, &n, &err);

        if ((r < 0) != (err != NULL))
                abort();
        for (size_t i = 0; r == 0 && i < n; i++) {
                if (strlen(o[i].oid) != 64)
                        abort();
                for (size_t k = 0; k < o[i].n_parts; k++)
                        if (o[i].parts[k] == NULL || o[i].chunk_size == 0)
                                abort();
                if (o[i].has_upload && o[i].upload.href == NULL)
                        abort();
        }
        if (r == 0)
                hfhub_lfs_objects_free(o, n);
        hoist_error_release(&err);
}

static void commit(const char *body, size_t len)
{
        struct hfhub_commit c = {0};
        struct hoist_error *err = NULL;
        int r = hfhub_parse_commit(body, len, &c, &err);

        if ((r < 0) != (err != NULL) || (r == 0 && (c.url == NULL || c.oid == NULL)))
                abort();
        hfhub_commit_clear(&c);
        hoist_error_release(&err);
        free(hfhub_error_text(body, len, NULL));
}

static void names(const char *text)
{
        (void)hfhub_repo_valid(text);
        (void)hfhub_path_valid(text);
        free(hfhub_error_text(NULL, 0, text));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *body;

        if (size == 0)
                return 0;
        body = xstrndup((const char *)data + 1, size - 1);
        switch (data[0] % 4) {
        case 0:
                preupload(body, size - 1);
                break;
        case 1:
                lfs_batch(body, size - 1);
                break;
        case 2:
                commit(body, size - 1);
                break;
        default:
                names(body);
                break;
        }
        free(body);
        return 0;
}
