/* SPDX-License-Identifier: MIT */
/* hoist serve's credentials: the owner key, job keys, their scope and expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cleanup.h"
#include "fsutil.h"
#include "runner/serve/keys.h"
#include "runner/serve/s3err.h"
#include "xalloc.h"

static int setup(void **state)
{
        char *dir = xstrdup("/tmp/hoist-serve-keys-XXXXXX");

        assert_non_null(mkdtemp(dir));
        *state = dir;
        return 0;
}

static int teardown(void **state)
{
        assert_int_equal(fs_remove_tree(*state, NULL), 0);
        free(*state);
        return 0;
}

static void test_owner_generated_once_0600(void **state)
{
        const char *dir = *state;
        struct serve_keys *k = NULL, *k2 = NULL;
        _cleanup_free_ char *path = path_join(dir, "owner.json");
        struct stat st;

        assert_int_equal(serve_keys_open(dir, NULL, NULL, &k, NULL), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(strlen(serve_keys_owner(k)->access_key), SERVE_ACCESS_KEY_LEN);
        assert_int_equal(strlen(serve_keys_owner(k)->secret_key), SERVE_SECRET_KEY_LEN);
        assert_int_equal(serve_keys_open(dir, NULL, NULL, &k2, NULL), 0);
        assert_string_equal(serve_keys_owner(k)->access_key, serve_keys_owner(k2)->access_key);
        assert_string_equal(serve_keys_owner(k)->secret_key, serve_keys_owner(k2)->secret_key);
        serve_keys_free(k);
        serve_keys_free(k2);
}

static void test_owner_from_arguments(void **state)
{
        struct serve_keys *k = NULL;
        struct serve_key who = {0};
        struct hoist_error *err = NULL;

        assert_int_equal(serve_keys_open(*state, "OWNER", NULL, &k, &err), -1);
        hoist_error_release(&err);
        assert_int_equal(serve_keys_open(*state, "bad/key", "s", &k, &err), -1);
        hoist_error_release(&err);
        assert_int_equal(serve_keys_open(*state, "OWNER", "sekrit", &k, NULL), 0);
        assert_int_equal(serve_keys_lookup(k, "OWNER", time(NULL), &who, NULL), 0);
        assert_string_equal(who.secret_key, "sekrit");
        assert_null(who.prefix);
        assert_true(serve_key_allows(&who, SERVE_ACCESS_ADMIN, "any", NULL));
        serve_key_clear(&who);
        assert_int_equal(serve_keys_lookup(k, "NOBODY", time(NULL), &who, &err),
                         -S3ERR_INVALID_ACCESS_KEY_ID);
        hoist_error_release(&err);
        /* an access key that looks like a path is never looked up as one */
        assert_int_equal(serve_keys_lookup(k, "../owner", time(NULL), &who, &err),
                         -S3ERR_INVALID_ACCESS_KEY_ID);
        hoist_error_release(&err);
        serve_keys_free(k);
}

static void test_job_key_scope_and_expiry(void **state)
{
        const char *dir = *state;
        struct serve_keys *k = NULL;
        _cleanup_free_ char *ak = NULL, *sk = NULL, *path = NULL;
        struct serve_key who = {0};
        struct hoist_error *err = NULL;
        struct stat st;

        assert_int_equal(serve_keys_open(dir, NULL, NULL, &k, NULL), 0);
        assert_int_equal(serve_keys_issue(dir, "jobs/j-1/", 60, 1, &ak, &sk, NULL), 0);
        path = xasprintf("%s/keys/%s.json", dir, ak);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(serve_keys_lookup(k, ak, time(NULL), &who, NULL), 0);
        assert_string_equal(who.secret_key, sk);
        assert_string_equal(who.prefix, "jobs/j-1/");

        assert_true(serve_key_allows(&who, SERVE_ACCESS_WRITE, "hoist", "jobs/j-1/x"));
        assert_true(serve_key_allows(&who, SERVE_ACCESS_READ, "hoist", "jobs/j-1/a/b"));
        assert_true(serve_key_allows(&who, SERVE_ACCESS_READ, "hoist", "blobs/sha256/ab"));
        assert_true(serve_key_allows(&who, SERVE_ACCESS_LIST, "hoist", "jobs/j-1/"));
        assert_true(serve_key_allows(&who, SERVE_ACCESS_BUCKET_READ, "hoist", NULL));
        assert_false(serve_key_allows(&who, SERVE_ACCESS_WRITE, "hoist", "blobs/sha256/ab"));
        assert_false(serve_key_allows(&who, SERVE_ACCESS_WRITE, "hoist", "jobs/j-10/x"));
        assert_false(serve_key_allows(&who, SERVE_ACCESS_READ, "hoist", "jobs/j-2/x"));
        assert_false(serve_key_allows(&who, SERVE_ACCESS_WRITE, "hoist", "jobs/j-1"));
        assert_false(serve_key_allows(&who, SERVE_ACCESS_LIST, "hoist", "jobs/"));
        assert_false(serve_key_allows(&who, SERVE_ACCESS_LIST, "hoist", ""));
        assert_false(serve_key_allows(&who, SERVE_ACCESS_WRITE, "other", "jobs/j-1/x"));
        assert_false(serve_key_allows(&who, SERVE_ACCESS_ADMIN, "hoist", NULL));
        serve_key_clear(&who);

        /* past its lifetime the key is refused and its file removed */
        assert_int_equal(serve_keys_lookup(k, ak, time(NULL) + 61, &who, &err),
                         -S3ERR_EXPIRED_TOKEN);
        hoist_error_release(&err);
        assert_false(fs_exists(path));
        serve_keys_free(k);
}

static void test_issue_rejects_bad_prefixes(void **state)
{
        static const char *const bad[] = {"jobs/../", "jobs/./",  "jobs//",   "jobs/a/b/",
                                          "jobs/a",   "blobs/a/", "/jobs/a/", "jobs/a b/",
                                          "",         "jobs/"};
        char *ak = NULL, *sk = NULL;
        struct hoist_error *err = NULL;

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                assert_int_equal(serve_keys_issue(*state, bad[i], 60, 1, &ak, &sk, &err), -1);
                assert_null(ak);
                hoist_error_release(&err);
        }
        assert_int_equal(serve_keys_issue(*state, "jobs/a/", 0, 1, &ak, &sk, &err), -1);
        hoist_error_release(&err);
        assert_int_equal(serve_keys_issue(*state, "jobs/a/", 604801, 1, &ak, &sk, &err), -1);
        hoist_error_release(&err);
        assert_true(serve_job_id_valid("j-20261121-ab.c_d"));
        assert_false(serve_job_id_valid(".."));
        assert_false(serve_job_id_valid("a/b"));
        assert_false(serve_job_id_valid(""));
}

/* Issue 10 item 7: an attempt's key goes once the attempt has ended;
 * a later attempt's key and other jobs' keys stay. */
static void test_revoke_by_job_and_attempt(void **state)
{
        const char *dir = *state;
        struct serve_keys *k = NULL;
        char *a1 = NULL, *a2 = NULL, *b1 = NULL, *hand = NULL, *sk = NULL;
        _cleanup_strv_ char **ids = NULL;
        struct serve_key who = {0};
        struct hoist_error *err = NULL;

        assert_int_equal(serve_keys_open(dir, NULL, NULL, &k, NULL), 0);
        assert_int_equal(serve_keys_issue(dir, "jobs/j-a/", 600, 1, &a1, &sk, NULL), 0);
        free(TAKE_PTR(sk));
        assert_int_equal(serve_keys_issue(dir, "jobs/j-a/", 600, 2, &a2, &sk, NULL), 0);
        free(TAKE_PTR(sk));
        assert_int_equal(serve_keys_issue(dir, "jobs/j-a/", 600, 0, &hand, &sk, NULL), 0);
        free(TAKE_PTR(sk));
        assert_int_equal(serve_keys_issue(dir, "jobs/j-b/", 600, 1, &b1, &sk, NULL), 0);
        free(TAKE_PTR(sk));

        assert_int_equal(serve_keys_jobs(dir, time(NULL), &ids, NULL), 0);
        assert_non_null(ids[0]);
        assert_non_null(ids[1]);
        assert_null(ids[2]);
        assert_true((strcmp(ids[0], "j-a") == 0 && strcmp(ids[1], "j-b") == 0) ||
                    (strcmp(ids[0], "j-b") == 0 && strcmp(ids[1], "j-a") == 0));

        /* Attempt 1 of j-a ended: its key and the one tied to no attempt go. */
        assert_int_equal(serve_keys_revoke(dir, "jobs/j-a/", 1, NULL), 2);
        assert_int_equal(serve_keys_lookup(k, a1, time(NULL), &who, &err),
                         -S3ERR_INVALID_ACCESS_KEY_ID);
        hoist_error_release(&err);
        assert_int_equal(serve_keys_lookup(k, hand, time(NULL), &who, &err),
                         -S3ERR_INVALID_ACCESS_KEY_ID);
        hoist_error_release(&err);
        assert_int_equal(serve_keys_lookup(k, a2, time(NULL), &who, NULL), 0);
        assert_int_equal(who.attempt, 2);
        serve_key_clear(&who);
        assert_int_equal(serve_keys_lookup(k, b1, time(NULL), &who, NULL), 0);
        serve_key_clear(&who);
        assert_int_equal(serve_keys_revoke(dir, "jobs/j-a/", 2, NULL), 1);
        assert_int_equal(serve_keys_revoke(dir, "jobs/j-a/", 2, NULL), 0);
        strv_free(TAKE_PTR(ids));
        /* Past their time, keys are not listed; a day later the listing
         * deletes them. */
        assert_int_equal(serve_keys_jobs(dir, time(NULL) + 601, &ids, NULL), 0);
        assert_null(ids[0]);
        strv_free(TAKE_PTR(ids));
        assert_int_equal(serve_keys_lookup(k, b1, time(NULL), &who, NULL), 0);
        serve_key_clear(&who);
        assert_int_equal(serve_keys_jobs(dir, time(NULL) + 601 + 86400, &ids, NULL), 0);
        assert_null(ids[0]);
        assert_int_equal(serve_keys_lookup(k, b1, time(NULL), &who, &err),
                         -S3ERR_INVALID_ACCESS_KEY_ID);
        hoist_error_release(&err);
        free(a1);
        free(a2);
        free(hand);
        free(b1);
        serve_keys_free(k);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_owner_generated_once_0600, setup, teardown),
                cmocka_unit_test_setup_teardown(test_owner_from_arguments, setup, teardown),
                cmocka_unit_test_setup_teardown(test_job_key_scope_and_expiry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_issue_rejects_bad_prefixes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_revoke_by_job_and_attempt, setup, teardown),
        };
        return cmocka_run_group_tests_name("serve_keys", tests, NULL, NULL);
}
