/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "fsutil.h"
#include "hostlist.h"
#include "xalloc.h"

/* The expansion of LIST joined with spaces, or "ERROR: message". */
static char *expand_joined(const char *list)
{
        struct hoist_error *err = NULL;
        _cleanup_strv_ char **hosts = NULL;
        struct buf b = {0};
        int n = hostlist_expand(list, &hosts, &err);

        if (n < 0) {
                char *m;
                assert_null(hosts);
                assert_non_null(err);
                m = xasprintf("ERROR: %s", err->msg);
                hoist_error_free(err);
                return m;
        }
        assert_null(err);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
                assert_non_null(hosts[i]);
                if (i > 0)
                        buf_append_char(&b, ' ');
                buf_append_str(&b, hosts[i]);
        }
        assert_null(hosts[n]);
        return buf_take(&b);
}

static void check_expand(const char *list, const char *want)
{
        _cleanup_free_ char *got = expand_joined(list);

        if (strcmp(got, want) != 0)
                fail_msg("hostlist '%s': got '%s', want '%s'", list, got, want);
}

static void check_error(const char *list, const char *want_part)
{
        _cleanup_free_ char *got = expand_joined(list);

        if (strncmp(got, "ERROR: ", 7) != 0 || strstr(got, want_part) == NULL)
                fail_msg("hostlist '%s': got '%s', want an error with '%s'", list, got, want_part);
}

static void test_expand_plain(void **state)
{
        (void)state;
        check_expand("node1", "node1");
        check_expand("a,b,c", "a b c");
        /* Slurm also splits on spaces and tabs, and skips empty names. */
        check_expand("a b\tc,,d", "a b c d");
        check_expand(",a,", "a");
        check_expand("login.example.org", "login.example.org");
        check_expand("n-01_x.y:z", "n-01_x.y:z");
        /* duplicates and order are kept, as scontrol prints them */
        check_expand("b,a,b", "b a b");
}

static void test_expand_ranges(void **state)
{
        (void)state;
        check_expand("gpu[01-04,07],cpu-a[1-2]", "gpu01 gpu02 gpu03 gpu04 gpu07 cpu-a1 cpu-a2");
        check_expand("tux[1-3]", "tux1 tux2 tux3");
        check_expand("n[7]", "n7");
        check_expand("n[0]", "n0");
        check_expand("n[3,1,2]", "n3 n1 n2");
        check_expand("n[1-2,2]", "n1 n2 n2");
        /* the width is the low bound's, as written */
        check_expand("n[8-11]", "n8 n9 n10 n11");
        check_expand("n[08-11]", "n08 n09 n10 n11");
        check_expand("a[9-011]", "a9 a10 a11");
        check_expand("a[001-3]", "a001 a002 a003");
        check_expand("a[98-100]", "a98 a99 a100");
        check_expand("a[0098-0100]", "a0098 a0099 a0100");
        check_expand("n[01-2,7-08]", "n01 n02 n7 n8");
        /* no prefix at all */
        check_expand("[1-3]", "1 2 3");
        check_expand("[1-2],x", "1 2 x");
        check_expand("gpu[1-2] cpu[3-4]", "gpu1 gpu2 cpu3 cpu4");
        check_expand("n[999999999999999998-999999999999999999]",
                     "n999999999999999998 n999999999999999999");
}

static void test_expand_several_brackets(void **state)
{
        (void)state;
        check_expand("rack[1-2]-node[01-02]",
                     "rack1-node01 rack1-node02 rack2-node01 rack2-node02");
        check_expand("a[1-2][3-4]", "a13 a14 a23 a24");
        /* Slurm's order past two brackets: the last, then the first, ... */
        check_expand("r[1,3]n[1-2]x[5]", "r1n1x5 r3n1x5 r1n2x5 r3n2x5");
        check_expand("a[1-2]b[3],c", "a1b3 a2b3 c");
        check_expand("s[1-2]-r[1-2]-n[0-1]",
                     "s1-r1-n0 s1-r1-n1 s2-r1-n0 s2-r1-n1 s1-r2-n0 s1-r2-n1 s2-r2-n0 s2-r2-n1");
        check_expand("a[1-2]b[1-2]c[1-2]d[1-2]",
                     "a1b1c1d1 a1b1c1d2 a2b1c1d1 a2b1c1d2 a1b2c1d1 a1b2c1d2 a2b2c1d1 a2b2c1d2 "
                     "a1b1c2d1 a1b1c2d2 a2b1c2d1 a2b1c2d2 a1b2c2d1 a1b2c2d2 a2b2c2d1 a2b2c2d2");
}

static void test_expand_errors(void **state)
{
        (void)state;
        check_error("", "names no host");
        check_error(" , ,", "names no host");
        check_error("n[1-3", "'[' is not closed at column 2");
        check_error("n[1-3,", "'[' is not closed");
        check_error("n[", "'[' is not closed");
        check_error("x]", "unexpected ']' at column 2");
        check_error("n[3-1]", "range '3-1' is reversed");
        check_error("n[]", "a number is missing");
        check_error("n[1,,2]", "a number is missing at column 5");
        check_error("n[-2]", "a number is missing");
        check_error("n[1-]", "a number is missing");
        check_error("n[--1]", "a number is missing");
        check_error("n[1-2-3]", "unexpected '-'");
        check_error("n[a-b]", "unexpected 'a'");
        check_error("n[1 - 2]", "unexpected ' '");
        check_error("n[[1]]", "unexpected '['");
        check_error("gpu[1-2]-ib", "text after the last ']' is not allowed");
        check_error("a[1-2]b[3-4]c", "text after the last ']'");
        check_error("n\001", "byte 0x01 is not allowed");
        check_error("n\n1", "byte 0x0a");
        check_error("caf\xc3\xa9", "byte 0xc3");
        check_error("n[1234567890123456789]", "more than 18 digits");
        /* Slurm's limit on one range, and the same on the whole list */
        check_error("n[1-65537]", "more than 65536 hosts");
        check_error("n[0-99999999999999999]", "more than 65536 hosts");
        check_error("n[1-40000],m[1-40000]", "more than 65536 hosts at column 12");
        check_error("n[1-300][1-300]", "more than 65536 hosts");
        check_error("n[1-40000,1-40000]", "more than 65536 hosts");
        {
                char name[300];
                memset(name, 'a', sizeof name - 1);
                name[sizeof name - 1] = '\0';
                check_error(name, "longer than 255 bytes");
        }
}

/* The message quotes the list, cut and made printable. */
static void test_expand_error_message(void **state)
{
        _cleanup_free_ char *got = expand_joined("gpu[01-04,07],cpu-a[2-1]");
        _cleanup_buf_ struct buf longlist = {0};
        _cleanup_free_ char *got_long = NULL;

        (void)state;
        assert_string_equal(
                got, "ERROR: hostlist 'gpu[01-04,07],cpu-a[2-1]': range '2-1' is reversed (write "
                     "LOW-HIGH) at column 21");
        for (int i = 0; i < 50; i++)
                buf_printf(&longlist, "node%d,", i);
        buf_append_str(&longlist, "\x7f");
        got_long = expand_joined(longlist.data);
        assert_non_null(strstr(got_long, "...': byte 0x7f is not allowed in a host name"));
}

/* Exactly the limit is fine, and takes bounded time. */
static void test_expand_limit(void **state)
{
        _cleanup_strv_ char **hosts = NULL;
        struct hoist_error *err = NULL;

        (void)state;
        assert_int_equal(hostlist_expand("n[00001-65536]", &hosts, &err), 65536);
        assert_string_equal(hosts[0], "n00001");
        assert_string_equal(hosts[65535], "n65536");
        assert_null(hosts[65536]);
}

static void check_compress(const char *list, const char *want)
{
        _cleanup_strv_ char **hosts = NULL;
        _cleanup_strv_ char **again = NULL;
        _cleanup_free_ char *got = NULL;
        struct hoist_error *err = NULL;
        int n = hostlist_expand(list, &hosts, &err);

        assert_true(n > 0);
        got = hostlist_compress(hosts, (size_t)n, &err);
        assert_non_null(got);
        if (strcmp(got, want) != 0)
                fail_msg("compress of '%s': got '%s', want '%s'", list, got, want);
        assert_int_equal(hostlist_expand(got, &again, &err), n);
        for (int i = 0; i < n; i++)
                assert_string_equal(again[i], hosts[i]);
}

static void test_compress(void **state)
{
        struct hoist_error *err = NULL;
        char ok1[] = "ok1", notok[] = "not,ok", nothing[] = "";
        char *bad[] = {ok1, notok};
        char *empty[] = {nothing};
        char *none = NULL;
        _cleanup_free_ char *nothing_packed = NULL;

        (void)state;
        check_compress("gpu01,gpu02,gpu03,gpu04,gpu07,cpu-a1,cpu-a2", "gpu[01-04,07],cpu-a[1-2]");
        check_compress("gpu[01-04,07],cpu-a[1-2]", "gpu[01-04,07],cpu-a[1-2]");
        check_compress("n1", "n1");
        check_compress("login", "login");
        check_compress("n1,n2", "n[1-2]");
        check_compress("n9,n10,n11", "n[9-11]");
        check_compress("n09,n10", "n[09-10]");
        /* a width that changes cannot share a range */
        check_compress("n9,n010", "n[9,010]");
        check_compress("n1,n01", "n[1,01]");
        check_compress("n3,n2,n1", "n[3,2,1]");
        check_compress("n1,n1", "n[1,1]");
        check_compress("a,b,a1,b1,b2", "a,b,a1,b[1-2]");
        check_compress("rack[1-2]-node[01-02]", "rack1-node[01-02],rack2-node[01-02]");
        check_compress("1,2,3", "[1-3]");
        check_compress("n1234567890123456789,n1234567890123456790",
                       "n1234567890123456789,n1234567890123456790");
        nothing_packed = hostlist_compress(&none, 0, &err);
        assert_string_equal(nothing_packed, "");

        assert_null(hostlist_compress(bad, 2, &err));
        assert_non_null(strstr(err->msg, "'not,ok' holds a separator"));
        hoist_error_release(&err);
        assert_null(hostlist_compress(empty, 1, &err));
        assert_non_null(strstr(err->msg, "empty"));
        hoist_error_release(&err);
}

/* ---- against Slurm's own parser, where it is installed ---- */

static const char *const scontrol_lists[] = {
        "gpu[01-04,07],cpu-a[1-2]",
        "rack[1-2]-node[01-02]",
        "a[1-2][3-4]",
        "r[1,3]n[1-2]x[5]",
        "tux[1-3]",
        "n[8-11]",
        "a[9-011]",
        "a[001-3]",
        "a[0098-0100]",
        "n[01-2,7-08]",
        "[1-3]",
        "a b\tc,,d",
        "b,a,b",
        "n[1-2,2]",
        "node1,node[3-5],login.example.org",
        "n[1-65536]",
        "s[1-2]-r[1-2]-n[0-1]",
        "a[1-2]b[1-2]c[1-2]d[1-2]",
        "x[1-3]y[7,9]",
};

/* Lists both refuse (Slurm prints "Invalid hostlist"). */
static const char *const scontrol_invalid[] = {
        "n[3-1]", "n[]", "n[1-65537]", "gpu[1-2]-ib", "a[1-2]b[3-4]c", "n[-2]",
};

static char *run_scontrol(const char *conf, const char *list)
{
        _cleanup_free_ char *cmd =
                xasprintf("SLURM_CONF='%s' scontrol show hostnames '%s' 2>&1", conf, list);
        struct buf b = {0};
        char line[512];
        FILE *p = popen(cmd, "r");

        assert_non_null(p);
        while (fgets(line, sizeof line, p) != NULL) {
                line[strcspn(line, "\n")] = '\0';
                if (b.len > 0)
                        buf_append_char(&b, ' ');
                buf_append_str(&b, line);
        }
        (void)pclose(p);
        return buf_take(&b);
}

static void test_against_scontrol(void **state)
{
        static const char slurm_conf[] = "ClusterName=hoisthl\nSlurmctldHost=localhost\n"
                                         "NodeName=localhost\nPartitionName=p Nodes=localhost\n";
        char dir[] = "/tmp/hoist-test-hostlist-XXXXXX";
        _cleanup_free_ char *conf = NULL;
        struct hoist_error *err = NULL;

        (void)state;
        /* scripts/deps.sh installs slurm-client: Slurm's own answer is part
         * of this test, not an extra. */
        if (system("command -v scontrol >/dev/null 2>&1") != 0)
                fail_msg("scontrol is not installed: run scripts/deps.sh (it installs "
                         "slurm-client) so the expansion is compared with Slurm's");
        assert_non_null(mkdtemp(dir));
        conf = path_join(dir, "slurm.conf");
        /* scontrol reads a configuration before anything; show hostnames
         * needs no controller. */
        assert_int_equal(fs_write_file_atomic(conf, slurm_conf, strlen(slurm_conf), 0644, &err), 0);
        for (size_t i = 0; i < sizeof scontrol_lists / sizeof scontrol_lists[0]; i++) {
                _cleanup_free_ char *want = run_scontrol(conf, scontrol_lists[i]);
                _cleanup_free_ char *got = expand_joined(scontrol_lists[i]);
                if (strcmp(got, want) != 0)
                        fail_msg("'%s': hoist '%.200s', scontrol '%.200s'", scontrol_lists[i], got,
                                 want);
        }
        for (size_t i = 0; i < sizeof scontrol_invalid / sizeof scontrol_invalid[0]; i++) {
                _cleanup_free_ char *want = run_scontrol(conf, scontrol_invalid[i]);
                _cleanup_free_ char *got = expand_joined(scontrol_invalid[i]);
                if (strstr(want, "Invalid hostlist") == NULL || strncmp(got, "ERROR: ", 7) != 0)
                        fail_msg("'%s': hoist '%s', scontrol '%s'", scontrol_invalid[i], got, want);
        }
        assert_int_equal(unlink(conf), 0);
        assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_expand_plain),
                cmocka_unit_test(test_expand_ranges),
                cmocka_unit_test(test_expand_several_brackets),
                cmocka_unit_test(test_expand_errors),
                cmocka_unit_test(test_expand_error_message),
                cmocka_unit_test(test_expand_limit),
                cmocka_unit_test(test_compress),
                cmocka_unit_test(test_against_scontrol),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
