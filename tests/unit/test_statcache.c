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

#include "fsutil.h"
#include "runner/job/statcache.h"
#include "xalloc.h"

#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void test_round_trip_and_freshness(void **state)
{
        (void)state;
        char dir[] = "/tmp/hoist-statcache-XXXXXX";
        struct hoist_error *err = NULL;
        struct statcache_entry e[2];
        struct statcache *c;
        struct stat st = {0};
        char *file;

        assert_non_null(mkdtemp(dir));
        file = xasprintf("%s/cache", dir);
        st.st_size = 10;
        st.st_mtim.tv_sec = 5;
        st.st_mtim.tv_nsec = 7;
        st.st_ctim.tv_sec = 6;
        st.st_ino = 42;
        statcache_fill(&e[0], "a b/with space.txt", &st, A64);
        statcache_fill(&e[1], "z", &st, A64);
        assert_int_equal(statcache_write(file, e, 2, &err), 0);
        c = statcache_load(file);
        assert_int_equal(c->n, 2);
        assert_non_null(statcache_find(c, "a b/with space.txt"));
        assert_null(statcache_find(c, "nope"));
        assert_true(statcache_fresh(statcache_find(c, "z"), &st));
        /* mtime put back but the inode was rewritten: ctime tells */
        st.st_ctim.tv_nsec = 1;
        assert_false(statcache_fresh(statcache_find(c, "z"), &st));
        st.st_ctim.tv_nsec = 0;
        st.st_size = 11;
        assert_false(statcache_fresh(statcache_find(c, "z"), &st));
        statcache_free(c);
        free(e[0].path);
        free(e[1].path);

        /* a damaged cache loads empty: every file is read again */
        assert_int_equal(
                fs_write_file_atomic(file, "hoist-statcache/v1\nbad line\n", 28, 0600, &err), 0);
        c = statcache_load(file);
        assert_int_equal(c->n, 0);
        statcache_free(c);
        c = statcache_load("/nonexistent/cache");
        assert_int_equal(c->n, 0);
        statcache_free(c);
        unlink(file);
        rmdir(dir);
        free(file);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip_and_freshness),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
