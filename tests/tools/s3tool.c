/* SPDX-License-Identifier: MIT */
/*
 * s3tool: a thin driver of lib/s3 for tests/integration/test_s3_client.sh.
 * The endpoint, region and credentials come from the environment as in
 * hoist itself.  S3TOOL_PART_SIZE sets the part size, S3TOOL_CANCEL_AFTER
 * cancels a transfer (through the progress callback) once that many bytes
 * have moved, to test that a failed multipart upload leaves nothing behind.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "log.h"
#include "s3.h"

static uint64_t arg_cancel_after;

static int progress(void *userdata, uint64_t done, uint64_t total)
{
        (void)userdata;
        (void)total;
        return arg_cancel_after != 0 && done >= arg_cancel_after;
}

static uint64_t env_u64(const char *name)
{
        const char *v = getenv(name);

        return v != NULL ? strtoull(v, NULL, 10) : 0;
}

static int run(struct s3_client *c, int argc, char **argv, struct hoist_error **err)
{
        const char *cmd = argv[1];

        if (strcmp(cmd, "mb") == 0 && argc == 3)
                return s3_create_bucket(c, argv[2], err);
        if (strcmp(cmd, "rb") == 0 && argc == 3)
                return s3_delete_bucket(c, argv[2], err);
        if (strcmp(cmd, "lsb") == 0 && argc == 2) {
                _cleanup_strv_ char **names = NULL;
                if (s3_list_buckets(c, &names, err) < 0)
                        return -1;
                for (char **n = names; *n != NULL; n++)
                        puts(*n);
                return 0;
        }
        if ((strcmp(cmd, "put") == 0 || strcmp(cmd, "putmp") == 0) && argc == 5) {
                _cleanup_free_ char *etag = NULL;
                int r = strcmp(cmd, "put") == 0
                                ? s3_put_file(c, argv[2], argv[3], argv[4], NULL, &etag, err)
                                : s3_multipart_upload_file(c, argv[2], argv[3], argv[4], NULL,
                                                           &etag, err);
                if (r == 0)
                        printf("%s\n", etag != NULL ? etag : "");
                return r;
        }
        if (strcmp(cmd, "get") == 0 && argc == 5)
                return s3_get_file(c, argv[2], argv[3], argv[4], err);
        if (strcmp(cmd, "cat") == 0 && (argc == 4 || argc == 6)) {
                _cleanup_free_ char *data = NULL;
                size_t len = 0;
                uint64_t off = argc == 6 ? strtoull(argv[4], NULL, 10) : 0;
                uint64_t n = argc == 6 ? strtoull(argv[5], NULL, 10) : 0;
                if (s3_get_object(c, argv[2], argv[3], off, n, &data, &len, err) < 0)
                        return -1;
                return fwrite(data, 1, len, stdout) == len ? 0 : -1;
        }
        if (strcmp(cmd, "head") == 0 && argc == 4) {
                struct s3_object_info info = {0};
                int r = s3_head_object(c, argv[2], argv[3], &info, err);
                if (r == 1)
                        printf("%" PRIu64 " %s\n", info.size, info.etag ? info.etag : "");
                else if (r == 0)
                        puts("absent");
                s3_object_info_clear(&info);
                return r < 0 ? -1 : 0;
        }
        if (strcmp(cmd, "rm") == 0 && argc == 4)
                return s3_delete_object(c, argv[2], argv[3], err);
        if (strcmp(cmd, "ls") == 0 && argc >= 3 && argc <= 5) {
                struct s3_object_list l = {0};
                unsigned max = argc == 5 ? (unsigned)strtoul(argv[4], NULL, 10) : 0;
                if (s3_list_objects(c, argv[2], argc >= 4 ? argv[3] : NULL, NULL, max, &l, err) < 0)
                        return -1;
                for (size_t i = 0; i < l.n; i++)
                        printf("%s %" PRIu64 "\n", l.objects[i].key, l.objects[i].size);
                fprintf(stderr, "pages %u\n", l.pages);
                s3_object_list_clear(&l);
                return 0;
        }
        if (strcmp(cmd, "uploads") == 0 && argc == 3) {
                struct s3_upload *u = NULL;
                size_t n = 0;
                if (s3_list_multipart_uploads(c, argv[2], NULL, &u, &n, err) < 0)
                        return -1;
                for (size_t i = 0; i < n; i++)
                        printf("%s %s\n", u[i].key, u[i].upload_id);
                s3_uploads_free(u, n);
                return 0;
        }
        if (strcmp(cmd, "presign") == 0 && argc == 6) {
                _cleanup_free_ char *url = NULL;
                if (s3_presign(c, argv[2], argv[3], argv[4], (unsigned)strtoul(argv[5], NULL, 10),
                               &url, err) < 0)
                        return -1;
                puts(url);
                return 0;
        }
        return hoist_error_make(err, HOIST_ERR_USAGE,
                                "usage: s3tool mb|rb|lsb|put|putmp|get|"
                                "cat|head|rm|ls|uploads|presign ...");
}

int main(int argc, char **argv)
{
        struct s3_client_config cfg = {.path_style = -1, .progress = progress};
        struct s3_client *c = NULL;
        struct hoist_error *err = NULL;
        int r;

        log_init_from_env();
        if (argc < 2) {
                fprintf(stderr, "usage: s3tool COMMAND ARGS...\n");
                return 2;
        }
        arg_cancel_after = env_u64("S3TOOL_CANCEL_AFTER");
        cfg.part_size = env_u64("S3TOOL_PART_SIZE");
        r = s3_client_new(&cfg, &c, &err);
        if (r == 0)
                r = run(c, argc, argv, &err);
        s3_client_free(c);
        if (r < 0) {
                fprintf(stderr, "s3tool: %s\n", err != NULL ? err->msg : "failed");
                hoist_error_free(err);
                return 1;
        }
        return 0;
}
