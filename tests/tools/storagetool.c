/* SPDX-License-Identifier: MIT */
/*
 * storagetool: drives lib/storage from the integration tests, so each
 * backend is checked against a real peer through the same interface the
 * runner and the entrypoint use.
 *   storagetool URL put KEY FILE | get KEY FILE | cat KEY | exists KEY | ls PREFIX | rm KEY
 * Endpoint and credentials come from the usual AWS environment variables.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cleanup.h"
#include "storage.h"

static int run(struct storage *st, int argc, char **argv, struct hoist_error **err)
{
        const char *op = argv[0];

        if (strcmp(op, "put") == 0 && argc == 3)
                return storage_put_file(st, argv[1], argv[2], err);
        if (strcmp(op, "get") == 0 && argc == 3)
                return storage_get_file(st, argv[1], argv[2], err);
        if (strcmp(op, "rm") == 0 && argc == 2)
                return storage_delete(st, argv[1], err);
        if (strcmp(op, "cat") == 0 && argc == 2) {
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                if (storage_get_bytes(st, argv[1], &data, &len, err) < 0)
                        return -1;
                fwrite(data, 1, len, stdout);
                return 0;
        }
        if (strcmp(op, "exists") == 0 && argc == 2) {
                uint64_t size = 0;
                int r = storage_exists(st, argv[1], &size, err);
                if (r < 0)
                        return -1;
                if (r == 1)
                        printf("%" PRIu64 "\n", size);
                else
                        printf("absent\n");
                return 0;
        }
        if (strcmp(op, "ls") == 0 && argc == 2) {
                _cleanup_strv_ char **keys = NULL;
                if (storage_list(st, argv[1], &keys, err) < 0)
                        return -1;
                for (char **k = keys; *k; k++)
                        printf("%s\n", *k);
                return 0;
        }
        fprintf(stderr, "storagetool: bad arguments\n");
        return -2;
}

int main(int argc, char **argv)
{
        struct hoist_error *err = NULL;
        struct storage *st = NULL;
        int r;

        if (argc < 3) {
                fprintf(stderr, "usage: storagetool URL OP ARGS...\n");
                return 2;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (storage_open(argv[1], &st, &err) < 0) {
                fprintf(stderr, "storagetool: %s\n", err->msg);
                hoist_error_free(err);
                return 1;
        }
        r = run(st, argc - 2, argv + 2, &err);
        storage_close(st);
        if (r == -1) {
                fprintf(stderr, "storagetool: %s\n", err->msg);
                hoist_error_free(err);
        }
        curl_global_cleanup();
        return r == 0 ? 0 : r == -2 ? 2 : 1;
}
