/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "fsutil.h"
#include "hfhub.h"
#include "jobspec.h"
#include "runner/job/jobfile.h"
#include "helpers/testutil.h"
#include "xalloc.h"

#define OID_A "6c7340c25b123d1afdaad48393937f85c6ab8ab3c3a1637f28b82707a587f284"
#define OID_B "0000000000000000000000000000000000000000000000000000000000000001"

static void test_repo_and_path_names(void **state)
{
        (void)state;
        assert_true(hfhub_repo_valid("alice/tiny-model"));
        assert_true(hfhub_repo_valid("Org_1/m.v2"));
        assert_false(hfhub_repo_valid("tiny-model"));
        assert_false(hfhub_repo_valid("a/b/c"));
        assert_false(hfhub_repo_valid("/model"));
        assert_false(hfhub_repo_valid("alice/"));
        assert_false(hfhub_repo_valid("alice/-x"));
        assert_false(hfhub_repo_valid("alice/x."));
        assert_false(hfhub_repo_valid("alice/a--b"));
        assert_false(hfhub_repo_valid("alice/a..b"));
        assert_false(hfhub_repo_valid("alice/a b"));
        assert_false(hfhub_repo_valid(NULL));

        assert_true(hfhub_path_valid("."));
        assert_true(hfhub_path_valid(""));
        assert_true(hfhub_path_valid("checkpoints/final"));
        assert_false(hfhub_path_valid("/abs"));
        assert_false(hfhub_path_valid("a/../b"));
        assert_false(hfhub_path_valid("a//b"));
        assert_false(hfhub_path_valid("a/"));
        assert_false(hfhub_path_valid("./a"));
        assert_false(hfhub_path_valid("a\nb"));
}

static void files_init(struct hfhub_file *f, size_t n)
{
        static const char *const paths[] = {"model.safetensors", "config.json", "tok/vocab.txt"};

        for (size_t i = 0; i < n; i++)
                f[i] = (struct hfhub_file){.path = (char *)paths[i], .size = 10};
}

static void test_preupload(void **state)
{
        (void)state;
        struct hfhub_file f[3];
        struct hoist_error *err = NULL;
        const char *ok = "{\"files\":[{\"path\":\"config.json\",\"uploadMode\":\"regular\","
                         "\"shouldIgnore\":false},{\"path\":\"model.safetensors\",\"uploadMode\":"
                         "\"lfs\"},{\"path\":\"tok/vocab.txt\",\"uploadMode\":\"regular\","
                         "\"shouldIgnore\":true},{\"path\":\"other\",\"uploadMode\":\"lfs\"}]}";

        files_init(f, 3);
        assert_int_equal(hfhub_parse_preupload(ok, strlen(ok), f, 3, &err), 0);
        assert_true(f[0].lfs);
        assert_false(f[1].lfs);
        assert_false(f[2].lfs);
        assert_true(f[2].ignored);
        assert_false(f[0].ignored);

        /* a file left out, an unknown mode, not JSON */
        const char *missing = "{\"files\":[{\"path\":\"config.json\",\"uploadMode\":\"lfs\"}]}";
        files_init(f, 3);
        assert_int_equal(hfhub_parse_preupload(missing, strlen(missing), f, 3, &err), -1);
        assert_non_null(strstr(err->msg, "leaves out 'model.safetensors'"));
        hoist_error_release(&err);
        const char *mode = "{\"files\":[{\"path\":\"config.json\",\"uploadMode\":\"xet\"}]}";
        assert_int_equal(hfhub_parse_preupload(mode, strlen(mode), f, 1, &err), -1);
        hoist_error_release(&err);
        assert_int_equal(hfhub_parse_preupload("{", 1, f, 1, &err), -1);
        hoist_error_release(&err);
        assert_int_equal(hfhub_parse_preupload("[]", 2, f, 1, &err), -1);
        hoist_error_release(&err);
}

static void test_lfs_batch(void **state)
{
        (void)state;
        struct hfhub_lfs_object *o = NULL;
        struct hoist_error *err = NULL;
        size_t n = 0;
        /* parts out of order, zero-padded as the Hub writes them */
        const char *body =
                "{\"transfer\":\"multipart\",\"objects\":["
                "{\"oid\":\"" OID_A "\",\"size\":20,\"actions\":{\"upload\":{\"href\":"
                "\"https://hub/complete\",\"header\":{\"chunk_size\":\"8\",\"00002\":"
                "\"https://s3/p2\",\"00001\":\"https://s3/p1\",\"00003\":\"https://s3/p3\"}},"
                "\"verify\":{\"href\":\"https://hub/verify\",\"header\":{\"X-A\":\"b\"}}}},"
                "{\"oid\":\"" OID_B "\",\"size\":5},"
                "{\"oid\":\"" OID_B "\",\"size\":5,\"error\":{\"code\":422,\"message\":\"no\"}}]}";

        assert_int_equal(hfhub_parse_lfs_batch(body, strlen(body), &o, &n, &err), 0);
        assert_int_equal(n, 3);
        assert_string_equal(o[0].oid, OID_A);
        assert_int_equal(o[0].size, 20);
        assert_true(o[0].has_upload);
        assert_int_equal(o[0].chunk_size, 8);
        assert_int_equal(o[0].n_parts, 3);
        assert_string_equal(o[0].parts[0], "https://s3/p1");
        assert_string_equal(o[0].parts[2], "https://s3/p3");
        assert_null(o[0].upload.headers[0]); /* part URLs are no headers */
        assert_true(o[0].has_verify);
        assert_string_equal(o[0].verify.headers[0], "X-A: b");
        assert_false(o[1].has_upload);
        assert_non_null(strstr(o[2].error, "no (code 422)"));
        hfhub_lfs_objects_free(o, n);

        static const char *const bad[] = {
                "{\"objects\":[{\"oid\":\"xyz\",\"size\":1}]}",
                "{\"objects\":[{\"oid\":\"" OID_A "\",\"size\":-1}]}",
                "{\"transfer\":\"ssh\",\"objects\":[]}",
                "{\"objects\":[{\"oid\":\"" OID_A "\",\"size\":1,\"actions\":{\"upload\":{"
                "\"href\":\"file:///etc/passwd\"}}}]}",
                /* a gap in the parts */
                "{\"objects\":[{\"oid\":\"" OID_A "\",\"size\":1,\"actions\":{\"upload\":{"
                "\"href\":\"https://h\",\"header\":{\"chunk_size\":\"8\",\"1\":\"https://a\","
                "\"3\":\"https://c\"}}}}]}",
                /* parts without a chunk size */
                "{\"objects\":[{\"oid\":\"" OID_A "\",\"size\":1,\"actions\":{\"upload\":{"
                "\"href\":\"https://h\",\"header\":{\"1\":\"https://a\"}}}}]}",
                /* a header that would split into two */
                "{\"objects\":[{\"oid\":\"" OID_A "\",\"size\":1,\"actions\":{\"upload\":{"
                "\"href\":\"https://h\",\"header\":{\"X\":\"a\\r\\nEvil: 1\"}}}}]}",
                "{\"objects\":{}}",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                o = NULL;
                if (hfhub_parse_lfs_batch(bad[i], strlen(bad[i]), &o, &n, &err) == 0)
                        fail_msg("accepted: %s", bad[i]);
                assert_non_null(err);
                hoist_error_release(&err);
        }
}

static void test_commit_and_errors(void **state)
{
        (void)state;
        struct hfhub_commit c = {0};
        struct hoist_error *err = NULL;
        const char *ok = "{\"commitUrl\":\"https://hub/a/b/commit/123\",\"commitOid\":\"123\","
                         "\"pullRequestUrl\":null}";

        assert_int_equal(hfhub_parse_commit(ok, strlen(ok), &c, &err), 0);
        assert_string_equal(c.url, "https://hub/a/b/commit/123");
        assert_string_equal(c.oid, "123");
        hfhub_commit_clear(&c);
        assert_int_equal(hfhub_parse_commit("{}", 2, &c, &err), -1);
        hoist_error_release(&err);

        const char *e1 = "{\"error\":\"Invalid\\ncreds\"}";
        _cleanup_free_ char *t = hfhub_error_text(e1, strlen(e1), NULL);
        assert_string_equal(t, "Invalid creds");
        _cleanup_free_ char *h = hfhub_error_text("{\"error\":\"x\"}", 13, "Repo not found");
        assert_string_equal(h, "Repo not found");
        assert_null(hfhub_error_text("<html>", 6, NULL));
}

static void test_commit_body(void **state)
{
        char *dir = *state;
        struct hfhub_file *f = NULL;
        struct hoist_error *err = NULL;
        size_t n = 0, len = 0;
        char *body = NULL;

        t_write_file(dir, "config.json", "{\"a\": 1}\n");
        _cleanup_free_ char *sub = path_join(dir, "tok");
        assert_int_equal(fs_mkdir_p(sub, 0755, &err), 0);
        t_write_file(sub, "vocab.txt", "hello");
        t_write_file(dir, "model.bin", "weights");
        _cleanup_free_ char *link = path_join(dir, "link");
        assert_int_equal(symlink("config.json", link), 0);
        size_t skipped = 0;
        assert_int_equal(hfhub_files_from_dir(dir, "out/v1", &f, &n, &skipped, &err), 0);
        assert_int_equal(n, 3);
        assert_int_equal(skipped, 1); /* the symlink */
        /* sorted by path, prefixed, hashed, sampled */
        assert_string_equal(f[0].path, "out/v1/config.json");
        assert_string_equal(f[1].path, "out/v1/model.bin");
        assert_string_equal(f[2].path, "out/v1/tok/vocab.txt");
        assert_int_equal(f[2].size, 5);
        assert_string_equal(f[2].sha256,
                            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_string_equal(f[2].sample64, "aGVsbG8=");
        f[1].lfs = true;
        assert_int_equal(hfhub_commit_body(f, n, "hoist job j-1", &body, &len, &err), 0);
        assert_int_equal(strlen(body), len);
        /* header, file, lfsFile, file: one JSON object a line */
        const char *want =
                "{\"key\":\"header\",\"value\":{\"summary\":\"hoist job "
                "j-1\",\"description\":\"\"}}\n"
                "{\"key\":\"file\",\"value\":{\"content\":\"eyJhIjogMX0K\",\"path\":\"out/v1/"
                "config.json\",\"encoding\":\"base64\"}}\n";
        assert_memory_equal(body, want, strlen(want));
        assert_non_null(strstr(body,
                               "{\"key\":\"lfsFile\",\"value\":{\"path\":\"out/v1/model.bin\","
                               "\"algo\":\"sha256\",\"oid\":\""));
        assert_non_null(strstr(body, "\"size\":7}}\n"));
        assert_non_null(strstr(body, "\"content\":\"aGVsbG8=\""));
        free(body);
        hfhub_files_free(f, n);

        assert_int_equal(hfhub_files_from_dir(dir, "../x", &f, &n, NULL, &err), -1);
        hoist_error_release(&err);
        _cleanup_free_ char *empty = path_join(dir, "empty");
        assert_int_equal(fs_mkdir_p(empty, 0755, &err), 0);
        assert_int_equal(hfhub_files_from_dir(empty, ".", &f, &n, NULL, &err), -1);
        assert_non_null(strstr(err->msg, "holds no files"));
        hoist_error_release(&err);
}

static void test_jobspec_hub(void **state)
{
        (void)state;
        _cleanup_jobspec_ struct jobspec *spec = NULL, *back = NULL;
        struct hoist_error *err = NULL;
        const char *json =
                "{\"version\":\"hoist/v1\",\"id\":\"j-1\",\"storage\":{\"endpoint\":\"file:///s\"},"
                "\"secrets\":[{\"name\":\"HF_TOKEN\",\"env\":\"T\"}],"
                "\"outputs\":{\"hub\":{\"repo\":\"alice/m\",\"token\":\"HF_TOKEN\","
                "\"from\":\"entrypoint\",\"path_in_repo\":\"ckpt\",\"endpoint\":"
                "\"http://127.0.0.1:1\"}}}";

        assert_int_equal(jobspec_parse(json, strlen(json), "job.json", &spec, &err), 0);
        assert_int_equal(jobspec_validate(spec, &err), 0);
        assert_string_equal(spec->hub.repo, "alice/m");
        assert_int_equal(spec->hub.private_repo, 1); /* the default */
        assert_int_equal(spec->hub.from, JOBSPEC_HUB_FROM_ENTRYPOINT);
        _cleanup_free_ char *text = jobspec_to_json(spec);
        assert_int_equal(jobspec_parse(text, strlen(text), "again", &back, &err), 0);
        assert_string_equal(back->hub.path_in_repo, "ckpt");
        assert_string_equal(back->hub.endpoint, "http://127.0.0.1:1");
        assert_int_equal(back->hub.from, JOBSPEC_HUB_FROM_ENTRYPOINT);

        /* a token that names no secret */
        free(back->hub.token);
        back->hub.token = xstrdup("OTHER");
        assert_int_equal(jobspec_validate(back, &err), -1);
        assert_non_null(strstr(err->msg, "'OTHER' is not one of the job's secrets"));
        hoist_error_release(&err);
        const char *from = "{\"version\":\"hoist/v1\",\"id\":\"j-1\",\"storage\":{\"endpoint\":"
                           "\"file:///s\"},\"outputs\":{\"hub\":{\"repo\":\"a/b\",\"token\":\"T\","
                           "\"from\":\"cloud\"}}}";
        jobspec_free(back);
        back = NULL;
        assert_int_equal(jobspec_parse(from, strlen(from), "job.json", &back, &err), -1);
        assert_non_null(strstr(err->msg, "outputs.hub.from"));
        hoist_error_release(&err);
}

static void test_jobfile_hub(void **state)
{
        char *dir = *state;
        struct jobfile *jf = t_parse_jobfile_ok(
                dir, "name: h\nruntime: process\ncommand: ls\nsecrets: {HF_TOKEN: {env: T}}\n"
                     "outputs:\n  hub: {repo: alice/m, private: false, token: HF_TOKEN}\n");

        assert_string_equal(jf->hub.repo, "alice/m");
        assert_int_equal(jf->hub.private_repo, 0);
        assert_int_equal(jf->hub.from, JOBSPEC_HUB_FROM_HOST);
        jobfile_free(jf);
        t_parse_jobfile_fails(dir,
                              "name: h\nruntime: process\ncommand: ls\n"
                              "outputs:\n  hub: {repo: alice/m, token: HF_TOKEN}\n",
                              "'job.yaml':5: field 'outputs.hub.token': 'HF_TOKEN' is not one of "
                              "the job's secrets (add it under secrets:, e.g. HF_TOKEN: {env: "
                              "HF_TOKEN})");
        t_parse_jobfile_fails(dir,
                              "name: h\nruntime: process\ncommand: ls\nsecrets: {T: {env: T}}\n"
                              "outputs:\n  hub: {repo: alice, token: T}\n",
                              "'job.yaml':6: field 'outputs.hub.repo': 'alice' is not a Hub repo "
                              "id (write it as user/name: letters, digits, '-', '_' and '.')");
}

static int setup_dir(void **state)
{
        char tmpl[] = "/tmp/hoist-test-hfhub-XXXXXX";

        if (mkdtemp(tmpl) == NULL)
                return -1;
        *state = realpath(tmpl, NULL);
        return *state == NULL ? -1 : 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_repo_and_path_names),
                cmocka_unit_test(test_preupload),
                cmocka_unit_test(test_lfs_batch),
                cmocka_unit_test(test_commit_and_errors),
                cmocka_unit_test_setup_teardown(test_commit_body, setup_dir, t_teardown_dir),
                cmocka_unit_test(test_jobspec_hub),
                cmocka_unit_test_setup_teardown(test_jobfile_hub, setup_dir, t_teardown_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
