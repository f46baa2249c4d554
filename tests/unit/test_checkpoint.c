/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "digest.h"
#include "entrypoint/checkpoint.h"
#include "fsutil.h"
#include "jobspec.h"
#include "storage.h"
#include "xalloc.h"

static const char *const SHA_A = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
static const char *const SHA_B = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";

static struct checkpoint_manifest *sample(void)
{
        struct checkpoint_manifest *m = xzalloc(sizeof *m);

        m->seq = 7;
        m->step = 400;
        m->attempt = 2;
        m->created_at_ms = 1700000000000;
        m->job_id = xstrdup("j-000000000001");
        m->node = xstrdup("main");
        m->n_files = 2;
        m->files = xcalloc(2, sizeof *m->files);
        m->files[0] = (struct checkpoint_file){xstrdup("ckpt-000400.bin"),
                                               xstrdup("ckpt-000400.bin"), xstrdup(SHA_A), 123};
        m->files[1] = (struct checkpoint_file){
                xstrdup("sub/latest"),
                xstrdup(".hoist/objects/"
                        "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"),
                xstrdup(SHA_B), 0};
        return m;
}

static void test_manifest_round_trip(void **state)
{
        (void)state;
        _cleanup_checkpoint_manifest_ struct checkpoint_manifest *m = sample();
        _cleanup_checkpoint_manifest_ struct checkpoint_manifest *back = NULL;
        _cleanup_free_ char *json = checkpoint_manifest_to_json(m);
        struct hoist_error *err = NULL;

        assert_int_equal(checkpoint_manifest_parse(json, strlen(json), "m", &back, &err), 0);
        assert_int_equal(back->seq, 7);
        assert_int_equal(back->step, 400);
        assert_int_equal(back->attempt, 2);
        assert_string_equal(back->job_id, "j-000000000001");
        assert_int_equal(back->n_files, 2);
        for (size_t i = 0; i < 2; i++) {
                assert_string_equal(back->files[i].path, m->files[i].path);
                assert_string_equal(back->files[i].key, m->files[i].key);
                assert_string_equal(back->files[i].sha256, m->files[i].sha256);
                assert_int_equal(back->files[i].size, m->files[i].size);
        }
}

/* A manifest with one file entry FILE (JSON object text). */
static int parse_with_files(const char *files, struct hoist_error **err)
{
        _cleanup_free_ char *json =
                xasprintf("{\"version\": 1, \"seq\": 3, \"step\": 1, \"files\": [%s]}", files);
        struct checkpoint_manifest *m = NULL;
        int r = checkpoint_manifest_parse(json, strlen(json), "bad", &m, err);

        checkpoint_manifest_free(m);
        return r;
}

static void expect_bad(const char *files, const char *needle)
{
        struct hoist_error *err = NULL;

        assert_int_equal(parse_with_files(files, &err), -1);
        assert_non_null(err);
        if (strstr(err->msg, needle) == NULL)
                fail_msg("'%s' does not mention '%s'", err->msg, needle);
        hoist_error_free(err);
}

#define FILE_ENTRY(path, key, sha, size)                                                           \
        "{\"path\": \"" path "\", \"key\": \"" key "\", \"sha256\": \"" sha "\", \"size\": " #size \
        "}"
#define SHA "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"

static void test_manifest_rejects(void **state)
{
        (void)state;
        struct hoist_error *err = NULL;

        assert_int_equal(parse_with_files(FILE_ENTRY("a", "a", SHA, 1), &err), 0);
        expect_bad(FILE_ENTRY("../a", "a", SHA, 1), "files[0].path");
        expect_bad(FILE_ENTRY("/etc/passwd", "a", SHA, 1), "files[0].path");
        expect_bad(FILE_ENTRY("a//b", "a", SHA, 1), "files[0].path");
        expect_bad(FILE_ENTRY(".hoist/x", "a", SHA, 1), "files[0].path");
        expect_bad(FILE_ENTRY("a", "../../x", SHA, 1), "files[0].key");
        expect_bad(FILE_ENTRY("a", ".hoist/manifest-0000000001.json", SHA, 1), "files[0].key");
        expect_bad(FILE_ENTRY("a", "a", "abc", 1), "sha256");
        expect_bad(FILE_ENTRY("a", "a", SHA, -1), "size");
        expect_bad(FILE_ENTRY("a", "a", SHA, 1) "," FILE_ENTRY("a", "b", SHA, 1), "twice");
        expect_bad(FILE_ENTRY("a/b", "x", SHA, 1) "," FILE_ENTRY("a-c", "y", SHA, 1) "," FILE_ENTRY(
                           "a", "z", SHA, 1),
                   "both a file and a directory");
        expect_bad("42", "not an object");

        struct checkpoint_manifest *m = NULL;
        static const char *const bad[] = {
                "",
                "[]",
                "{\"version\": 2, \"seq\": 1, \"files\": []}",
                "{\"version\": 1, \"seq\": 0, \"files\": []}",
                "{\"version\": 1, \"seq\": 1}",
                "{\"version\": 1, \"seq\": 1, \"files\": [], \"seq\": 2}",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                assert_int_equal(checkpoint_manifest_parse(bad[i], strlen(bad[i]), "x", &m, &err),
                                 -1);
                assert_null(m);
                hoist_error_release(&err);
        }
}

static void test_manifest_keys(void **state)
{
        (void)state;
        _cleanup_free_ char *k = checkpoint_manifest_key("jobs/j/checkpoints", 42);

        assert_string_equal(k, "jobs/j/checkpoints/.hoist/manifest-0000000042.json");
        assert_int_equal(checkpoint_manifest_key_seq("jobs/j/checkpoints", k), 42);
        assert_int_equal(checkpoint_manifest_key_seq("jobs/x/checkpoints", k), -1);
        assert_int_equal(checkpoint_manifest_key_seq("p", "p/.hoist/manifest-42.json"), -1);
        assert_int_equal(checkpoint_manifest_key_seq("p", "p/.hoist/manifest-0000000000.json"), -1);
        assert_int_equal(checkpoint_manifest_key_seq("p", "p/.hoist/manifest-0000000001.jsonx"),
                         -1);
        assert_int_equal(checkpoint_manifest_key_seq("p", "p/.hoist/objects/abc"), -1);
}

/* The final sync's deadline: a whole grace period when the command ended by
 * itself, the end of the stop's grace less a reserve after a stop from
 * outside, and never under a second. */
static void test_final_deadline(void **state)
{
        (void)state;
        assert_int_equal(checkpoint_final_deadline(1000, 0, 120), 121000);
        /* SIGTERM at 0 with 120 s: the platform kills at 120 s; 10 s kept. */
        assert_int_equal(checkpoint_final_deadline(30000, 120000, 120), 110000);
        /* A short grace keeps a fifth of it. */
        assert_int_equal(checkpoint_final_deadline(1000, 10000, 10), 8000);
        /* The command used the whole grace: still one second to try. */
        assert_int_equal(checkpoint_final_deadline(120500, 120000, 120), 121500);
        assert_int_equal(checkpoint_final_deadline(109500, 120000, 120), 110500);
}

static void test_step(void **state)
{
        (void)state;
        struct checkpoint_file f[3] = {
                {.path = (char *)"ckpt-000300.bin"},
                {.path = (char *)"ckpt-000400.bin"},
                {.path = (char *)"latest"},
        };
        struct checkpoint_file g[2] = {
                {.path = (char *)"epoch7/model-v2.pt"},
                {.path = (char *)"x99999999999999999999999.bin"},
        };

        assert_int_equal(checkpoint_step(f, 3, NULL), 400);
        assert_int_equal(checkpoint_step(f, 3, "1234\n"), 1234);
        assert_int_equal(checkpoint_step(f, 3, "not a number"), 400);
        assert_int_equal(checkpoint_step(f + 2, 1, NULL), 0);
        /* only the file's own name counts; numbers too long are ignored */
        assert_int_equal(checkpoint_step(g, 2, NULL), 2);
        assert_int_equal(checkpoint_step(NULL, 0, NULL), 0);
}

/* ---- against a file:// store -------------------------------------------- */

struct fixture {
        char root[64];
        char *store_dir;
        struct storage *st;
        struct jobspec *spec;
};

static int setup(void **state)
{
        struct fixture *fx = xzalloc(sizeof *fx);
        _cleanup_free_ char *url = NULL;
        struct hoist_error *err = NULL;

        strcpy(fx->root, "/tmp/test-checkpoint.XXXXXX");
        assert_non_null(mkdtemp(fx->root));
        fx->store_dir = path_join(fx->root, "store");
        url = xasprintf("file://%s", fx->store_dir);
        assert_int_equal(storage_open(url, &fx->st, &err), 0);
        fx->spec = jobspec_new();
        fx->spec->id = xstrdup("j-000000000001");
        fx->spec->storage.endpoint = xstrdup(url);
        fx->spec->attempt = 3;
        *state = fx;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *fx = *state;

        storage_close(fx->st);
        jobspec_free(fx->spec);
        (void)fs_remove_tree(fx->root, NULL);
        free(fx->store_dir);
        free(fx);
        return 0;
}

#define PREFIX "jobs/j-000000000001/checkpoints"

static void put(struct fixture *fx, const char *key, const char *text)
{
        struct hoist_error *err = NULL;

        assert_int_equal(storage_put_bytes(fx->st, key, text, strlen(text), &err), 0);
}

/* Stores manifest SEQ naming file PATH with TEXT's size and digest. */
static void put_manifest(struct fixture *fx, int64_t seq, const char *path, const char *text)
{
        struct checkpoint_manifest m = {.seq = seq, .step = seq * 100};
        struct checkpoint_file f = {
                .path = (char *)path, .key = (char *)path, .size = strlen(text)};
        char hex[DIGEST_HEX_LEN + 1];
        _cleanup_free_ char *key = checkpoint_manifest_key(PREFIX, seq);
        _cleanup_free_ char *json = NULL;

        digest_sha256_hex(text, strlen(text), hex);
        f.sha256 = hex;
        m.files = &f;
        m.n_files = 1;
        json = checkpoint_manifest_to_json(&m);
        put(fx, key, json);
}

static void test_find_latest(void **state)
{
        struct fixture *fx = *state;
        struct checkpoint_manifest *m = NULL;
        struct hoist_error *err = NULL;

        /* files without a manifest are no set */
        put(fx, PREFIX "/a.bin", "aaa");
        assert_int_equal(checkpoint_find_latest(fx->st, PREFIX, 0, &m, &err), 0);
        assert_null(m);

        put_manifest(fx, 1, "a.bin", "aaa");
        put(fx, PREFIX "/b.bin", "bbbb");
        put_manifest(fx, 2, "b.bin", "bbbb");
        put_manifest(fx, 3, "c.bin", "missing"); /* names a missing file */
        put(fx, PREFIX "/d.bin", "short");
        put_manifest(fx, 4, "d.bin", "longer text"); /* the wrong size */
        put(fx, PREFIX "/.hoist/manifest-0000000005.json", "{not json");
        assert_int_equal(checkpoint_find_latest(fx->st, PREFIX, 0, &m, &err), 0);
        assert_non_null(m);
        assert_int_equal(m->seq, 2);
        assert_string_equal(m->files[0].path, "b.bin");
        checkpoint_manifest_free(m);

        assert_int_equal(checkpoint_find_latest(fx->st, PREFIX, 1, &m, &err), 0);
        assert_int_equal(m->seq, 1);
        checkpoint_manifest_free(m);
}

static void write_local(const char *dir, const char *rel, const char *text)
{
        _cleanup_free_ char *path = path_join(dir, rel);
        _cleanup_free_ char *parent = xstrdup(path);
        struct hoist_error *err = NULL;

        *strrchr(parent, '/') = '\0';
        assert_int_equal(fs_mkdir_p(parent, 0755, &err), 0);
        assert_int_equal(fs_write_file_atomic(path, text, strlen(text), 0644, &err), 0);
}

static struct checkpoints *open_dir(struct fixture *fx, const char *name)
{
        _cleanup_free_ char *dir = path_join(fx->root, name);
        struct checkpoint_options o = {
                .spec = fx->spec, .node = "main", .dir = dir, .prefix = PREFIX, .debounce_ms = 50};
        struct checkpoints *ck = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(checkpoint_open(&o, &ck, &err), 0);
        return ck;
}

static int exists(struct fixture *fx, const char *key)
{
        struct hoist_error *err = NULL;

        return storage_exists(fx->st, key, NULL, &err);
}

static void test_sync_and_restore(void **state)
{
        struct fixture *fx = *state;
        _cleanup_free_ char *w = path_join(fx->root, "w");
        _cleanup_free_ char *r = path_join(fx->root, "r");
        struct hoist_error *err = NULL;
        struct checkpoints *ck = open_dir(fx, "w");
        struct checkpoint_manifest *m = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;

        /* nothing in the dir and nothing in storage: no set */
        assert_int_equal(checkpoint_sync_now(ck, 0, &err), 0);

        write_local(w, "ckpt-000100.bin", "one");
        write_local(w, "latest", "ckpt-000100.bin\n");
        write_local(w, "sub/deep.txt", "deep");
        assert_int_equal(checkpoint_sync_now(ck, 0, &err), 1);
        assert_int_equal(exists(fx, PREFIX "/.hoist/manifest-0000000001.json"), 1);
        assert_int_equal(exists(fx, PREFIX "/sub/deep.txt"), 1);
        /* nothing changed: no new set */
        assert_int_equal(checkpoint_sync_now(ck, 0, &err), 0);

        /* "latest" changes while set 1 names it: its new bytes go elsewhere */
        write_local(w, "ckpt-000200.bin", "two");
        write_local(w, "latest", "ckpt-000200.bin\n");
        assert_int_equal(checkpoint_sync_now(ck, 0, &err), 1);
        assert_int_equal(checkpoint_find_latest(fx->st, PREFIX, 0, &m, &err), 0);
        assert_int_equal(m->seq, 2);
        assert_int_equal(m->step, 200);
        assert_int_equal(m->n_files, 4);
        assert_string_equal(m->files[2].path, "latest");
        assert_memory_equal(m->files[2].key, ".hoist/objects/", 15);
        checkpoint_manifest_free(m);
        assert_int_equal(storage_get_bytes(fx->st, PREFIX "/latest", &text, &len, &err), 0);
        assert_string_equal(text, "ckpt-000100.bin\n");

        /* a deleted file leaves the next set; hoist-step sets the step */
        _cleanup_free_ char *gone = path_join(w, "ckpt-000100.bin");
        assert_int_equal(unlink(gone), 0);
        write_local(w, "hoist-step", "250\n");
        assert_int_equal(checkpoint_sync_now(ck, 0, &err), 1);
        write_local(w, "ckpt-000300.bin", "three");
        assert_int_equal(checkpoint_sync_now(ck, 0, &err), 1);
        /* four sets: the first is collected, with what only it named */
        assert_int_equal(exists(fx, PREFIX "/.hoist/manifest-0000000001.json"), 0);
        assert_int_equal(exists(fx, PREFIX "/.hoist/manifest-0000000002.json"), 1);
        assert_int_equal(exists(fx, PREFIX "/latest"), 0);
        assert_int_equal(exists(fx, PREFIX "/ckpt-000100.bin"), 1); /* set 2 names it */
        assert_int_equal(checkpoint_finish(ck, checkpoint_now_ms() + 10000, &err), 0);
        checkpoint_close(ck);

        /* a fresh dir with junk in it gets exactly the newest set */
        write_local(r, "junk.bin", "junk");
        ck = open_dir(fx, "r");
        assert_int_equal(checkpoint_restore(ck, fx->st, &err), 0);
        assert_int_equal(checkpoint_resume_step(ck), 250);
        assert_string_equal(getenv("HOIST_RESUME_STEP"), "250");
        assert_string_equal(getenv("HOIST_RESTART_COUNT"), "2");
        _cleanup_free_ char *junk = path_join(r, "junk.bin");
        _cleanup_free_ char *latest = path_join(r, "latest");
        _cleanup_free_ char *deep = path_join(r, "sub/deep.txt");
        _cleanup_free_ char *old = path_join(r, "ckpt-000100.bin");
        _cleanup_free_ char *restore_dir = path_join(r, ".hoist-restore");
        assert_false(fs_exists(junk));
        assert_false(fs_exists(old));
        assert_false(fs_exists(restore_dir));
        free(text);
        text = NULL;
        assert_int_equal(fs_read_file(latest, &text, &len, &err), 0);
        assert_string_equal(text, "ckpt-000200.bin\n");
        assert_true(fs_exists(deep));
        /* the restored files are known: nothing is sent again */
        assert_int_equal(checkpoint_sync_now(ck, 0, &err), 0);
        checkpoint_close(ck);
}

static void test_damaged_set_falls_back(void **state)
{
        struct fixture *fx = *state;
        _cleanup_free_ char *w = path_join(fx->root, "w");
        _cleanup_free_ char *r = path_join(fx->root, "r");
        _cleanup_free_ char *file = NULL;
        struct hoist_error *err = NULL;
        struct checkpoints *ck = open_dir(fx, "w");

        write_local(w, "ckpt-1.bin", "first");
        assert_int_equal(checkpoint_sync_now(ck, 0, &err), 1);
        write_local(w, "ckpt-2.bin", "second");
        assert_int_equal(checkpoint_sync_now(ck, 0, &err), 1);
        checkpoint_close(ck);
        /* same size, other bytes: only the sha256 check can tell */
        put(fx, PREFIX "/ckpt-2.bin", "SECOND");

        ck = open_dir(fx, "r");
        assert_int_equal(checkpoint_restore(ck, fx->st, &err), 0);
        assert_int_equal(checkpoint_resume_step(ck), 1);
        file = path_join(r, "ckpt-2.bin");
        assert_false(fs_exists(file));
        free(file);
        file = path_join(r, "ckpt-1.bin");
        assert_true(fs_exists(file));

        /* the same bytes again are sent again: the damaged object is no
         * source for a new set */
        write_local(r, "ckpt-2.bin", "second");
        assert_int_equal(checkpoint_sync_now(ck, 0, &err), 1);
        checkpoint_close(ck);
        _cleanup_free_ char *r2 = path_join(fx->root, "r2");
        _cleanup_free_ char *again = path_join(r2, "ckpt-2.bin");
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        ck = open_dir(fx, "r2");
        assert_int_equal(checkpoint_restore(ck, fx->st, &err), 0);
        assert_int_equal(checkpoint_resume_step(ck), 2);
        assert_int_equal(fs_read_file(again, &text, &len, &err), 0);
        assert_string_equal(text, "second");
        checkpoint_close(ck);
}

static void test_restore_nothing(void **state)
{
        struct fixture *fx = *state;
        _cleanup_free_ char *r = path_join(fx->root, "r");
        _cleanup_free_ char *mine = NULL;
        struct hoist_error *err = NULL;
        struct checkpoints *ck;

        /* an incomplete set only: the dir is left as it is */
        put(fx, PREFIX "/x.bin", "x");
        put_manifest(fx, 1, "y.bin", "y");
        write_local(r, "mine.bin", "mine");
        ck = open_dir(fx, "r");
        assert_int_equal(checkpoint_restore(ck, fx->st, &err), 0);
        assert_int_equal(checkpoint_resume_step(ck), 0);
        assert_string_equal(getenv("HOIST_RESUME_STEP"), "0");
        mine = path_join(r, "mine.bin");
        assert_true(fs_exists(mine));
        checkpoint_close(ck);
}

static void test_thread_publishes(void **state)
{
        struct fixture *fx = *state;
        _cleanup_free_ char *w = path_join(fx->root, "w");
        struct hoist_error *err = NULL;
        struct checkpoints *ck = open_dir(fx, "w");
        struct checkpoint_manifest *m = NULL;

        assert_int_equal(checkpoint_start(ck, &err), 0);
        write_local(w, "new/dir/ckpt-5.bin", "five");
        /* the thread publishes after the debounce; finish publishes anything
         * left, so the result does not depend on timing */
        assert_int_equal(checkpoint_finish(ck, checkpoint_now_ms() + 10000, &err), 0);
        checkpoint_close(ck);
        assert_int_equal(checkpoint_find_latest(fx->st, PREFIX, 0, &m, &err), 0);
        assert_non_null(m);
        assert_int_equal(m->step, 5);
        assert_string_equal(m->files[0].path, "new/dir/ckpt-5.bin");
        checkpoint_manifest_free(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_manifest_round_trip),
                cmocka_unit_test(test_manifest_rejects),
                cmocka_unit_test(test_manifest_keys),
                cmocka_unit_test(test_step),
                cmocka_unit_test(test_final_deadline),
                cmocka_unit_test_setup_teardown(test_find_latest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sync_and_restore, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_set_falls_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restore_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_thread_publishes, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
