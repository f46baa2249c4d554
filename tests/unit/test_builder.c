/* SPDX-License-Identifier: MIT */
/* The builder end to end on FROM scratch (no registry, no RUN): layers,
 * config, history, cache hits, --entrypoint, reproducibility, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/testutil.h"
#include "cleanup.h"
#include "fsutil.h"
#include "runner/image/builder.h"

struct fixture {
        char dir[64];
        char *ctx, *images, *cache, *tmp;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof *f);
        struct hoist_error *err = NULL;

        snprintf(f->dir, sizeof f->dir, "/tmp/hoist-builder-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->ctx = path_join(f->dir, "ctx");
        f->images = path_join(f->dir, "images");
        f->cache = path_join(f->dir, "cache");
        f->tmp = path_join(f->dir, "tmp");
        assert_int_equal(fs_mkdir_p(f->ctx, 0755, &err), 0);
        t_write_file(f->ctx, "app.txt", "hello\n");
        t_write_file(f->ctx, "skip.log", "noise\n");
        t_write_file(f->ctx, ".dockerignore", "*.log\n");
        t_write_file(f->ctx, "Dockerfile",
                     "FROM scratch\n"
                     "ARG NAME=world\n"
                     "ENV GREETING=hello-$NAME\n"
                     "COPY . /app/\n"
                     "WORKDIR /app\n"
                     "ENTRYPOINT [\"/app/run\"]\n"
                     "CMD [\"--fast\"]\n");
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        struct hoist_error *err = NULL;

        assert_int_equal(fs_remove_tree(f->dir, &err), 0);
        free(f->ctx);
        free(f->images);
        free(f->cache);
        free(f->tmp);
        free(f);
        return 0;
}

static struct builder_options options(const struct fixture *f, const char *images)
{
        static char *const args[] = {(char *)"NAME=unit", NULL};

        return (struct builder_options){
                .context = f->ctx,
                .tag = "localhost/unit:1",
                .build_args = args,
                .compression = "gzip",
                .images_dir = images,
                .cache_dir = f->cache,
                .tmp_dir = f->tmp,
        };
}

static json_t *load_blob(const char *images, const char *digest)
{
        _cleanup_free_ char *rel = NULL, *path = NULL;
        json_t *doc;

        assert_non_null(digest);
        rel = malloc(strlen(digest) + 32);
        sprintf(rel, "blobs/sha256/%s", digest + 7);
        path = path_join(images, rel);
        doc = json_load_file(path, 0, NULL);
        assert_non_null(doc);
        return doc;
}

static void test_scratch_copy_config(void **state)
{
        struct fixture *f = *state;
        struct builder_options o = options(f, f->images);
        struct builder_result r = {0};
        struct hoist_error *err = NULL;
        json_t *manifest, *cfg, *config, *history;

        assert_int_equal(builder_build(&o, &r, &err), 0);
        assert_int_equal(r.cached, 0);
        manifest = load_blob(f->images, r.manifest_digest);
        assert_int_equal(json_array_size(json_object_get(manifest, "layers")), 1);
        assert_string_equal(
                json_string_value(json_object_get(
                        json_array_get(json_object_get(manifest, "layers"), 0), "mediaType")),
                "application/vnd.oci.image.layer.v1.tar+gzip");
        cfg = load_blob(f->images, r.config_digest);
        config = json_object_get(cfg, "config");
        /* FROM scratch: Docker's default PATH first */
        assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Env"), 0)),
                            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Env"), 1)),
                            "GREETING=hello-unit");
        assert_string_equal(json_string_value(json_object_get(config, "WorkingDir")), "/app");
        assert_string_equal(
                json_string_value(json_array_get(json_object_get(config, "Entrypoint"), 0)),
                "/app/run");
        assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Cmd"), 0)),
                            "--fast");
        assert_string_equal(json_string_value(json_object_get(cfg, "created")),
                            "1970-01-01T00:00:00Z");
        history = json_object_get(cfg, "history");
        /* ENV, COPY, WORKDIR, ENTRYPOINT, CMD: one entry each; only COPY has a
         * layer (the COPY made /app, so WORKDIR has nothing to create) */
        assert_int_equal(json_array_size(history), 5);
        assert_true(json_is_true(json_object_get(json_array_get(history, 0), "empty_layer")));
        assert_null(json_object_get(json_array_get(history, 1), "empty_layer"));
        assert_int_equal(
                json_array_size(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids")), 1);
        json_decref(manifest);
        json_decref(cfg);
        builder_result_clear(&r);
        /* the same again: served from the cache, the same digest */
        {
                struct builder_result r2 = {0};
                char *first = NULL;
                assert_int_equal(builder_build(&o, &r, &err), 0);
                first = strdup(r.manifest_digest);
                assert_int_equal(r.cached, 2); /* COPY and WORKDIR */
                o.no_cache = 1;
                assert_int_equal(builder_build(&o, &r2, &err), 0);
                assert_int_equal(r2.cached, 0);
                assert_string_equal(first, r2.manifest_digest);
                free(first);
                builder_result_clear(&r2);
        }
        builder_result_clear(&r);
}

static void test_reproducible_across_stores(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *images2 = path_join(f->dir, "images2");
        _cleanup_free_ char *cache2 = path_join(f->dir, "cache2");
        struct builder_options a = options(f, f->images);
        struct builder_options b = options(f, images2);
        struct builder_result ra = {0}, rb = {0};
        struct hoist_error *err = NULL;

        b.cache_dir = cache2;
        assert_int_equal(builder_build(&a, &ra, &err), 0);
        assert_int_equal(builder_build(&b, &rb, &err), 0);
        assert_string_equal(ra.manifest_digest, rb.manifest_digest);
        builder_result_clear(&ra);
        builder_result_clear(&rb);
}

static void test_entrypoint_layer(void **state)
{
        struct fixture *f = *state;
        struct builder_options o = options(f, f->images);
        struct builder_result r = {0};
        struct hoist_error *err = NULL;
        _cleanup_free_ char *bundle_dir = path_join(f->dir, "bundle/opt/hoist/bin");
        _cleanup_free_ char *tar = path_join(f->dir, "hoist-entrypoint-bundle.tar");
        _cleanup_free_ char *cmd = NULL, *found = NULL,
                            *opt = path_join(f->dir, "bundle/opt/hoist");
        json_t *cfg, *config;

        assert_int_equal(fs_mkdir_p(bundle_dir, 0755, &err), 0);
        t_write_file(bundle_dir, "hoist-entrypoint", "#!/bin/sh\n");
        assert_true(asprintf(&cmd, "tar -C %s/bundle -cf %s opt", f->dir, tar) > 0);
        assert_int_equal(system(cmd), 0);
        found = builder_find_bundle_tar(opt);
        assert_non_null(found);
        assert_string_equal(found, tar);
        o.bundle_tar = tar;
        assert_int_equal(builder_build(&o, &r, &err), 0);
        cfg = load_blob(f->images, r.config_digest);
        config = json_object_get(cfg, "config");
        assert_string_equal(
                json_string_value(json_array_get(json_object_get(config, "Entrypoint"), 0)),
                "/opt/hoist/bin/hoist-entrypoint");
        assert_int_equal(json_array_size(json_object_get(config, "Entrypoint")), 1);
        /* the image's ENTRYPOINT + CMD became the CMD */
        assert_int_equal(json_array_size(json_object_get(config, "Cmd")), 2);
        assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Cmd"), 0)),
                            "/app/run");
        assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Cmd"), 1)),
                            "--fast");
        assert_int_equal(
                json_array_size(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids")), 2);
        json_decref(cfg);
        builder_result_clear(&r);
        assert_null(builder_find_bundle_tar(f->ctx));
}

static void test_errors_name_the_line(void **state)
{
        struct fixture *f = *state;
        struct builder_options o = options(f, f->images);
        struct builder_result r = {0};
        struct hoist_error *err = NULL;

        t_write_file(f->ctx, "Dockerfile", "FROM scratch\nCOPY nothing-here /x\n");
        assert_int_equal(builder_build(&o, &r, &err), -1);
        assert_non_null(strstr(err->msg, "line 2: COPY"));
        assert_non_null(strstr(err->msg, "'nothing-here'"));
        hoist_error_release(&err);
        t_write_file(f->ctx, "Dockerfile", "FROM scratch AS a\nFROM a\n");
        o.target = "b";
        assert_int_equal(builder_build(&o, &r, &err), -1);
        assert_non_null(strstr(err->msg, "--target 'b'"));
        assert_int_equal(err->code, HOIST_ERR_USAGE);
        hoist_error_release(&err);
}

/* The paths in the image's layer INDEX (with LONG, "uid/gid path" lines),
 * sorted. */
static char *layer_listing_at(const char *images, const char *manifest_digest, size_t index,
                              int long_form)
{
        json_t *m = load_blob(images, manifest_digest);
        const char *d = json_string_value(
                json_object_get(json_array_get(json_object_get(m, "layers"), index), "digest"));
        _cleanup_free_ char *cmd = NULL;
        char buf[4096];
        size_t n;
        FILE *p;

        assert_non_null(d);
        assert_true(asprintf(&cmd,
                             long_form ? "tar --numeric-owner -tvzf %s/blobs/sha256/%s | "
                                         "awk '{print $2, $6}' | sort"
                                       : "tar -tzf %s/blobs/sha256/%s | sort",
                             images, d + 7) > 0);
        json_decref(m);
        p = popen(cmd, "r");
        assert_non_null(p);
        n = fread(buf, 1, sizeof buf - 1, p);
        buf[n] = '\0';
        pclose(p);
        return strdup(buf);
}

static char *layer_listing(const char *images, const char *manifest_digest)
{
        return layer_listing_at(images, manifest_digest, 0, 0);
}

static void test_copy_destinations(void **state)
{
        struct fixture *f = *state;
        struct builder_options o = options(f, f->images);
        struct builder_result r = {0};
        struct hoist_error *err = NULL;
        _cleanup_free_ char *list = NULL;

        t_write_file(f->ctx, "Dockerfile",
                     "FROM scratch\nWORKDIR /app\nCOPY app.txt .\nCOPY app.txt /app\n"
                     "COPY app.txt sub/../b.txt\nCOPY app.txt ../../c/\nCOPY app.txt /d/e\n");
        t_write_file(f->ctx, "app.txt", "x\n");
        assert_int_equal(builder_build(&o, &r, &err), 0);
        /* WORKDIR made /app, so the first COPY adds only the file */
        list = layer_listing(f->images, r.manifest_digest);
        assert_string_equal(list, "app/\n");
        free(list);
        list = layer_listing_at(f->images, r.manifest_digest, 1, 0);
        assert_string_equal(list, "app/app.txt\n");
        builder_result_clear(&r);
        /* the other layers: check the config lists six */
        {
                json_t *cfg = NULL;
                assert_int_equal(builder_build(&o, &r, &err), 0);
                cfg = load_blob(f->images, r.config_digest);
                assert_int_equal(json_array_size(json_object_get(json_object_get(cfg, "rootfs"),
                                                                 "diff_ids")),
                                 6);
                json_decref(cfg);
                builder_result_clear(&r);
        }
}

/* The config of the image built from DOCKERFILE in the fixture's context. */
static json_t *build_config(struct fixture *f, const char *dockerfile, struct builder_result *r)
{
        struct builder_options o = options(f, f->images);
        struct hoist_error *err = NULL;

        t_write_file(f->ctx, "Dockerfile", dockerfile);
        if (builder_build(&o, r, &err) < 0)
                fail_msg("build: %s", err->msg);
        return load_blob(f->images, r->config_digest);
}

/* WORKDIR is lexical (Docker, buildah): /x, y, ../z, $REL/d is /x/z/e/d;
 * every WORKDIR's directories are created (those of y too, as Docker does)
 * even with no RUN after them, owned by the USER in effect; one that is
 * there already writes no layer. */
static void test_workdir_lexical_and_created(void **state)
{
        struct fixture *f = *state;
        struct builder_result r = {0};
        json_t *cfg = build_config(f,
                                   "FROM scratch\n"
                                   "WORKDIR /x\n"
                                   "WORKDIR y\n"
                                   "WORKDIR ../z\n"
                                   "ENV REL=e\n"
                                   "WORKDIR $REL/d\n"
                                   "USER 1000\n"
                                   "WORKDIR /u/v\n"
                                   "USER 7:8\n"
                                   "WORKDIR /u/w\n"
                                   "WORKDIR /x\n",
                                   &r);
        json_t *config = json_object_get(cfg, "config");
        static const char *const want[] = {
                "0/0 x/\n",
                "0/0 x/y/\n",
                "0/0 x/z/\n",
                "0/0 x/z/e/\n0/0 x/z/e/d/\n",
                "1000/1000 u/\n1000/1000 u/v/\n",
                "7/8 u/w/\n",
        };

        assert_string_equal(json_string_value(json_object_get(config, "WorkingDir")), "/x");
        /* the last WORKDIR /x found /x: no layer of its own */
        assert_int_equal(
                json_array_size(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids")), 6);
        for (size_t i = 0; i < 6; i++) {
                _cleanup_free_ char *list = layer_listing_at(f->images, r.manifest_digest, i, 1);
                assert_string_equal(list, want[i]);
        }
        json_decref(cfg);
        builder_result_clear(&r);
        cfg = build_config(f,
                           "FROM scratch\nWORKDIR /x\nWORKDIR y\nWORKDIR ../z\nENV REL=e\n"
                           "WORKDIR $REL/d\n",
                           &r);
        assert_string_equal(
                json_string_value(json_object_get(json_object_get(cfg, "config"), "WorkingDir")),
                "/x/z/e/d");
        /* the same again: the WORKDIR steps come from the cache */
        json_decref(cfg);
        builder_result_clear(&r);
        cfg = build_config(f,
                           "FROM scratch\nWORKDIR /x\nWORKDIR y\nWORKDIR ../z\nENV REL=e\n"
                           "WORKDIR $REL/d\n",
                           &r);
        assert_int_equal(r.cached, 4);
        json_decref(cfg);
        builder_result_clear(&r);
}

/* A WORKDIR through a link of the image creates its directory where the
 * link leads, read from the layers without unpacking them; a file in the
 * way is an error naming it. */
static void test_workdir_through_link(void **state)
{
        struct fixture *f = *state;
        struct builder_options o = options(f, f->images);
        struct builder_result r = {0};
        struct hoist_error *err = NULL;
        _cleanup_free_ char *tree = path_join(f->ctx, "tree/real/sub");
        _cleanup_free_ char *link = path_join(f->ctx, "tree/a");
        _cleanup_free_ char *list = NULL;
        json_t *cfg;

        assert_int_equal(fs_mkdir_p(tree, 0755, &err), 0);
        assert_int_equal(symlink("/real/sub", link), 0);
        cfg = build_config(f, "FROM scratch\nCOPY tree/ /\nWORKDIR /a/x\nWORKDIR /a\n", &r);
        list = layer_listing_at(f->images, r.manifest_digest, 1, 1);
        assert_string_equal(list, "0/0 real/sub/x/\n");
        assert_int_equal(
                json_array_size(json_object_get(json_object_get(cfg, "rootfs"), "diff_ids")), 2);
        json_decref(cfg);
        builder_result_clear(&r);
        t_write_file(f->ctx, "Dockerfile", "FROM scratch\nCOPY app.txt /f\nWORKDIR /f/x\n");
        assert_int_equal(builder_build(&o, &r, &err), -1);
        assert_non_null(strstr(err->msg, "line 3: WORKDIR"));
        assert_non_null(strstr(err->msg, "'/f' is in the image but is not a directory"));
        hoist_error_release(&err);
}

/* COPY --chown gives the directories it creates (the destination and its
 * missing parents) to the owner too, as Docker and buildah do; those the
 * image has keep theirs. */
static void test_copy_chown_created_dirs(void **state)
{
        struct fixture *f = *state;
        struct builder_result r = {0};
        _cleanup_free_ char *sub = path_join(f->ctx, "tree/sub");
        struct hoist_error *err = NULL;
        json_t *cfg;
        static const char *const want[] = {
                "0/0 data/\n",
                "1000/1000 data/owned/\n1000/1000 data/owned/f\n1000/1000 data/owned/sub/\n",
                "1000/1000 deep/\n1000/1000 deep/er/\n1000/1000 deep/er/f\n"
                "1000/1000 deep/er/sub/\n",
                "7/7 one/\n7/7 one/two/\n7/7 one/two/app.txt\n",
        };

        assert_int_equal(fs_mkdir_p(sub, 0755, &err), 0);
        t_write_file(f->ctx, "tree/f", "f\n");
        cfg = build_config(f,
                           "FROM scratch\n"
                           "WORKDIR /data\n"
                           "COPY --chown=1000:1000 tree/ /data/owned/\n"
                           "COPY --chown=1000:1000 tree /deep/er/\n"
                           "COPY --chown=7 app.txt /one/two/app.txt\n",
                           &r);
        for (size_t i = 0; i < 4; i++) {
                _cleanup_free_ char *list = layer_listing_at(f->images, r.manifest_digest, i, 1);
                assert_string_equal(list, want[i]);
        }
        json_decref(cfg);
        builder_result_clear(&r);
}

/* hoist import: the tar (here gzip-compressed) as one layer stored as the
 * builder stores layers, the changes in the config, a tag; then a build
 * FROM it finds it in the store.  Refused changes store nothing. */
static void test_import(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *tar = path_join(f->dir, "rootfs.tar.gz"), *cmd = NULL;
        _cleanup_free_ char *ctx2 = path_join(f->dir, "ctx2"), *idx = NULL;
        static char *const changes[] = {(char *)"ENV A=b", (char *)"WORKDIR /w",
                                        (char *)"CMD [\"/bin/sh\"]", (char *)"USER 1000", NULL};
        static char *const bad[] = {(char *)"ENV A=b", (char *)"RUN true", NULL};
        static char *const two_lines[] = {(char *)"ENV A=b\nRUN true", NULL};
        struct builder_import_options o = {.tar = tar,
                                           .tag = "localhost/imported:1",
                                           .changes = changes,
                                           .images_dir = f->images,
                                           .cache_dir = f->cache,
                                           .tmp_dir = f->tmp};
        struct builder_result r = {0}, r2 = {0};
        struct builder_options bo = options(f, f->images);
        struct hoist_error *err = NULL;
        json_t *manifest, *cfg, *config;

        assert_true(asprintf(&cmd, "tar -C %s -czf %s app.txt", f->ctx, tar) > 0);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(builder_import(&o, &r, &err), 0);
        assert_int_equal(r.steps, 4);
        manifest = load_blob(f->images, r.manifest_digest);
        assert_int_equal(json_array_size(json_object_get(manifest, "layers")), 1);
        assert_string_equal(
                json_string_value(json_object_get(
                        json_array_get(json_object_get(manifest, "layers"), 0), "mediaType")),
                "application/vnd.oci.image.layer.v1.tar+gzip");
        cfg = load_blob(f->images, r.config_digest);
        config = json_object_get(cfg, "config");
        assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Env"), 0)),
                            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Env"), 1)),
                            "A=b");
        assert_string_equal(json_string_value(json_object_get(config, "WorkingDir")), "/w");
        assert_string_equal(json_string_value(json_object_get(config, "User")), "1000");
        assert_string_equal(json_string_value(json_array_get(json_object_get(config, "Cmd"), 0)),
                            "/bin/sh");
        assert_int_equal(json_array_size(json_object_get(cfg, "history")), 5);
        json_decref(manifest);
        json_decref(cfg);

        /* FROM the imported image: its layer, then the COPY's */
        assert_int_equal(fs_mkdir_p(ctx2, 0755, &err), 0);
        t_write_file(ctx2, "Dockerfile", "FROM localhost/imported:1\nCOPY Dockerfile /df\n");
        bo.context = ctx2;
        bo.tag = "localhost/on-imported:1";
        assert_int_equal(builder_build(&bo, &r2, &err), 0);
        manifest = load_blob(f->images, r2.manifest_digest);
        assert_int_equal(json_array_size(json_object_get(manifest, "layers")), 2);
        json_decref(manifest);
        builder_result_clear(&r2);
        builder_result_clear(&r);

        /* refused: an instruction podman import does not take, two lines,
         * a file that is not a tar; nothing tagged */
        o.tag = "localhost/refused:1";
        o.changes = bad;
        assert_int_equal(builder_import(&o, &r, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_USAGE);
        assert_non_null(strstr(err->msg, "--change 'RUN true': RUN is not allowed"));
        hoist_error_release(&err);
        o.changes = two_lines;
        assert_int_equal(builder_import(&o, &r, &err), -1);
        assert_non_null(strstr(err->msg, "one instruction per --change"));
        hoist_error_release(&err);
        o.changes = NULL;
        t_write_file(f->dir, "not-a-tar", "hello\n");
        free(tar);
        tar = path_join(f->dir, "not-a-tar");
        o.tar = tar;
        assert_int_equal(builder_import(&o, &r, &err), -1);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
        assert_non_null(strstr(err->msg, "is not a tar archive"));
        hoist_error_release(&err);
        idx = path_join(f->images, "index.json");
        {
                _cleanup_free_ char *text = NULL;
                assert_int_equal(fs_read_file(idx, &text, NULL, &err), 0);
                assert_null(strstr(text, "refused"));
        }
}

static void test_check_shipped_dockerfiles(void **state)
{
        (void)state;
        static const char *const files[] = {"images/pytorch/Dockerfile",
                                            "images/quickstart/Dockerfile"};
        struct hoist_error *err = NULL;

        for (size_t i = 0; i < 2; i++) {
                struct builder_options o = {.context = "images", .dockerfile = files[i]};
                if (builder_check(&o, &err) < 0)
                        fail_msg("%s: %s", files[i], err->msg);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_scratch_copy_config, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reproducible_across_stores, setup, teardown),
                cmocka_unit_test_setup_teardown(test_entrypoint_layer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_errors_name_the_line, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copy_destinations, setup, teardown),
                cmocka_unit_test_setup_teardown(test_workdir_lexical_and_created, setup, teardown),
                cmocka_unit_test_setup_teardown(test_workdir_through_link, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copy_chown_created_dirs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_import, setup, teardown),
                cmocka_unit_test(test_check_shipped_dockerfiles),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
