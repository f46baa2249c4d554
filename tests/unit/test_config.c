/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cleanup.h"
#include "config.h"
#include "fsutil.h"

static struct config_node *parse_ok(const char *text)
{
        struct config_node *root = NULL;
        struct hoist_error *err = NULL;

        if (config_parse(text, strlen(text), "t.yaml", &root, &err) < 0)
                fail_msg("unexpected error: %s", err->msg);
        assert_non_null(root);
        return root;
}

/* Parses TEXT, expects failure, and checks the message holds WANT. */
static void parse_fails(const char *text, size_t len, const char *want)
{
        struct config_node *root = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(config_parse(text, len, "t.yaml", &root, &err), -1);
        assert_null(root);
        assert_non_null(err);
        if (strstr(err->msg, want) == NULL)
                fail_msg("error '%s' lacks '%s'", err->msg, want);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
}

static void test_line_and_column(void **state)
{
        (void)state;
        _cleanup_config_node_ struct config_node *root = parse_ok("# comment\n"
                                                                  "name: demo\n"
                                                                  "limits:\n"
                                                                  "  max_runtime: 2h\n"
                                                                  "command:\n"
                                                                  "  - python\n"
                                                                  "  - 'train.py'\n");
        assert_int_equal(root->type, CONFIG_MAPPING);
        assert_int_equal(root->n_pairs, 3);
        assert_string_equal(root->pairs[0].key, "name");
        assert_int_equal(root->pairs[0].key_line, 2);
        assert_int_equal(root->pairs[0].key_col, 1);
        assert_int_equal(root->pairs[0].value->line, 2);
        assert_int_equal(root->pairs[0].value->col, 7);
        assert_string_equal(root->pairs[0].value->text, "demo");

        const struct config_node *limits = config_get(root, "limits");
        assert_non_null(limits);
        assert_int_equal(limits->type, CONFIG_MAPPING);
        assert_int_equal(limits->pairs[0].key_line, 4);
        assert_int_equal(limits->pairs[0].key_col, 3);

        const struct config_node *cmd = config_get(root, "command");
        assert_int_equal(cmd->type, CONFIG_SEQUENCE);
        assert_int_equal(cmd->n_items, 2);
        assert_int_equal(cmd->items[1]->line, 7);
        assert_string_equal(cmd->items[1]->text, "train.py");
        assert_false(cmd->items[1]->plain);
        assert_true(cmd->items[0]->plain);
        assert_string_equal(cmd->items[0]->file, "t.yaml");
        assert_null(config_get(root, "nope"));
        assert_null(config_get(cmd, "name"));
}

static void test_order_kept(void **state)
{
        (void)state;
        _cleanup_config_node_ struct config_node *root = parse_ok("{z: 1, a: 2, m: 3}");
        assert_string_equal(root->pairs[0].key, "z");
        assert_string_equal(root->pairs[1].key, "a");
        assert_string_equal(root->pairs[2].key, "m");
}

static void test_duplicate_keys(void **state)
{
        (void)state;
        const char *doc = "a: 1\nb: 2\nname: x\nc: 3\nname: y\n";
        parse_fails(doc, strlen(doc), "'t.yaml':5: duplicate key 'name' (first at line 3)");
        /* the first repeat in the file is reported, and against the first use */
        doc = "k: 1\nz: 1\nk: 2\nz: 2\nk: 3\n";
        parse_fails(doc, strlen(doc), "'t.yaml':3: duplicate key 'k' (first at line 1)");
        doc = "outer:\n  x: 1\n  x: 2\n";
        parse_fails(doc, strlen(doc), "'t.yaml':3: duplicate key 'x' (first at line 2)");
}

static void test_aliases_refused(void **state)
{
        (void)state;
        const char *doc = "a: &anchor [1, 2]\nb: *anchor\n";
        parse_fails(doc, strlen(doc), "'t.yaml':1:4: anchor '&anchor' is not supported");
        doc = "a: *nothing\n";
        parse_fails(doc, strlen(doc), "alias '*nothing' is not supported");
        doc = "a: &x 1\n";
        parse_fails(doc, strlen(doc), "anchors and aliases are refused");
}

static void test_billion_laughs(void **state)
{
        (void)state;
        const char *doc = "a: &a [\"lol\",\"lol\",\"lol\"]\n"
                          "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                          "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n";
        parse_fails(doc, strlen(doc), "not supported");
}

static void test_depth_limit(void **state)
{
        (void)state;
        _cleanup_buf_ struct buf b = {0};

        for (int i = 0; i < CONFIG_MAX_DEPTH; i++)
                buf_append_char(&b, '[');
        for (int i = 0; i < CONFIG_MAX_DEPTH; i++)
                buf_append_char(&b, ']');
        _cleanup_config_node_ struct config_node *ok = parse_ok(b.data);
        assert_int_equal(ok->type, CONFIG_SEQUENCE);

        buf_reset(&b);
        for (int i = 0; i < 100000; i++)
                buf_append_char(&b, '[');
        parse_fails(b.data, b.len, "nested more than 64 levels deep");
}

static void test_size_limit(void **state)
{
        (void)state;
        size_t n = CONFIG_MAX_SIZE + 1;
        _cleanup_free_ char *big = malloc(n);
        assert_non_null(big);
        memset(big, '#', n);
        parse_fails(big, n, "too large");
}

static void test_syntax_error_has_line(void **state)
{
        (void)state;
        const char *doc = "name: demo\nimage: [unclosed\nother: 1\n";
        parse_fails(doc, strlen(doc), "YAML syntax error");
        parse_fails(doc, strlen(doc),
                    "'t.yaml':3:6: YAML syntax error: did not find expected ',' or ']' (while "
                    "parsing a flow sequence at line 2)");

        doc = "a: 1\n b: 2\n";
        parse_fails(doc, strlen(doc),
                    "'t.yaml':2:3: YAML syntax error: mapping values are not "
                    "allowed in this context");
        doc = "key: \"unterminated\n";
        parse_fails(doc, strlen(doc), "while scanning a quoted scalar at line 1");
        doc = "a: \xff\n";
        parse_fails(doc, strlen(doc), "UTF-8");
}

static void test_documents(void **state)
{
        (void)state;
        parse_fails("", 0, "'t.yaml': the document is empty");
        parse_fails("# just a comment\n", 17, "the document is empty");
        const char *doc = "a: 1\n---\nb: 2\n";
        parse_fails(doc, strlen(doc), "'t.yaml':2:1: a second YAML document");
        doc = "? [a]\n: 1\n";
        parse_fails(doc, strlen(doc), "a mapping key must be a plain string");
        doc = "a: \"x\\0y\"\n";
        parse_fails(doc, strlen(doc), "NUL characters are not allowed");
        _cleanup_config_node_ struct config_node *scalar = parse_ok("--- just text\n");
        assert_int_equal(scalar->type, CONFIG_SCALAR);
        assert_string_equal(scalar->text, "just text");
}

static void test_getters(void **state)
{
        (void)state;
        _cleanup_config_node_ struct config_node *root = parse_ok("s: hello\n"
                                                                  "q: \"\"\n"
                                                                  "n: ~\n"
                                                                  "e:\n"
                                                                  "b: yes\n"
                                                                  "i: -42\n"
                                                                  "d: 15m\n"
                                                                  "l: [a, 'b c']\n"
                                                                  "m: {x: 1}\n"
                                                                  "f: 0.1\n");
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *s = NULL, *q = NULL, *f = NULL;
        _cleanup_strv_ char **l = NULL;
        int b = 0;
        int64_t i = 0, d = 0;

        assert_int_equal(config_get_string(config_get(root, "s"), "s", &s, &err), 0);
        assert_string_equal(s, "hello");
        assert_int_equal(config_get_string(config_get(root, "q"), "q", &q, &err), 0);
        assert_string_equal(q, "");
        assert_int_equal(config_get_scalar(config_get(root, "f"), "f", &f, &err), 0);
        assert_string_equal(f, "0.1");
        assert_int_equal(config_get_bool(config_get(root, "b"), "b", &b, &err), 0);
        assert_true(b);
        assert_int_equal(config_get_int(config_get(root, "i"), "i", -100, 100, &i, &err), 0);
        assert_int_equal(i, -42);
        assert_int_equal(config_get_duration(config_get(root, "d"), "d", &d, &err), 0);
        assert_int_equal(d, 900);
        assert_int_equal(config_get_strv(config_get(root, "l"), "l", &l, &err), 0);
        assert_string_equal(l[0], "a");
        assert_string_equal(l[1], "b c");
        assert_null(l[2]);
        assert_int_equal(config_check_mapping(config_get(root, "m"), "m", &err), 0);
        assert_null(err);
        assert_true(config_is_null(config_get(root, "n")));
        assert_true(config_is_empty(config_get(root, "e")));
        assert_false(config_is_null(config_get(root, "q")));

        char *none = NULL;
        assert_int_equal(config_get_string(config_get(root, "n"), "n", &none, &err), -1);
        assert_string_equal(err->msg, "'t.yaml':3: field 'n': expected a string, got null ('~')");
        assert_null(none);
        assert_int_equal(config_get_scalar(config_get(root, "e"), "e", &none, &err), -1);
        assert_string_equal(err->msg, "'t.yaml':4: field 'e': expected a value (a number, string "
                                      "or boolean), got nothing");
        assert_int_equal(config_get_string(config_get(root, "m"), "m", &none, &err), -1);
        assert_string_equal(err->msg, "'t.yaml':9: field 'm': expected a string, got a mapping");
        assert_int_equal(config_get_bool(config_get(root, "s"), "s", &b, &err), -1);
        assert_string_equal(err->msg, "'t.yaml':1: field 's': expected true or false, got 'hello'");
        assert_int_equal(config_get_int(config_get(root, "i"), "i", 0, 10, &i, &err), -1);
        assert_string_equal(err->msg,
                            "'t.yaml':6: field 'i': expected an integer from 0 to 10, got '-42'");
        assert_int_equal(config_get_duration(config_get(root, "s"), "limits.max_runtime", &d, &err),
                         -1);
        assert_string_equal(err->msg, "'t.yaml':1: field 'limits.max_runtime': expected a duration "
                                      "like 90s, 15m or 2h, got 'hello'");
        assert_int_equal(config_check_mapping(config_get(root, "l"), "l", &err), -1);
        assert_string_equal(err->msg, "'t.yaml':8: field 'l': expected a mapping, got a sequence");
}

static void test_check_keys(void **state)
{
        (void)state;
        static const char *const valid[] = {"image", "name", "limits", NULL};
        _cleanup_config_node_ struct config_node *root = parse_ok("name: a\n\nimgae: b\n");
        _cleanup_config_node_ struct config_node *far = parse_ok("zzzzzzzz: 1\n");
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(config_check_keys(root, NULL, valid, &err), -1);
        assert_string_equal(err->msg, "'t.yaml':3: unknown field 'imgae' (did you mean 'image'?); "
                                      "valid fields: image, name, limits");
        assert_int_equal(config_check_keys(far, "limits", valid, &err), -1);
        assert_string_equal(err->msg, "'t.yaml':1: unknown field 'zzzzzzzz' in 'limits'; valid "
                                      "fields: image, name, limits");
}

static void test_durations(void **state)
{
        (void)state;
        assert_int_equal(config_parse_duration("90"), 90);
        assert_int_equal(config_parse_duration("0"), 0);
        assert_int_equal(config_parse_duration("90s"), 90);
        assert_int_equal(config_parse_duration("15m"), 900);
        assert_int_equal(config_parse_duration("2h"), 7200);
        assert_int_equal(config_parse_duration("1d"), 86400);
        assert_int_equal(config_parse_duration("-5"), -1);
        assert_int_equal(config_parse_duration(""), -1);
        assert_int_equal(config_parse_duration("soon"), -1);
        assert_int_equal(config_parse_duration("5x"), -1);
        assert_int_equal(config_parse_duration("5ms"), -1);
        assert_int_equal(config_parse_duration(" 5"), -1);
        assert_int_equal(config_parse_duration("9223372036854775807"), INT64_MAX);
        assert_int_equal(config_parse_duration("9223372036854775808"), -1);
        assert_int_equal(config_parse_duration("106751991167301d"), -1);
        assert_int_equal(config_parse_duration(NULL), -1);
}

static void test_describe_sanitizes(void **state)
{
        (void)state;
        _cleanup_config_node_ struct config_node *root = parse_ok(
                "a: \"line1\\nline2\\x1b[31m\"\n"
                "b: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
        _cleanup_free_ char *a = config_describe(config_get(root, "a"));
        _cleanup_free_ char *b = config_describe(config_get(root, "b"));
        assert_string_equal(a, "'line1?line2?[31m'");
        assert_int_equal(strlen(b), 60 + 5);
        assert_string_equal(b + 61, "...'");
}

static void test_load_file(void **state)
{
        (void)state;
        char dir[] = "/tmp/hoist-test-config-XXXXXX";
        _cleanup_error_ struct hoist_error *err = NULL;
        struct config_node *root = NULL;

        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *path = path_join(dir, "c.yaml");
        assert_int_equal(fs_write_file_atomic(path, "x: [1, 2]\n", 10, 0644, &err), 0);
        assert_int_equal(config_load_file(path, &root, &err), 0);
        assert_string_equal(root->file, path);
        assert_int_equal(config_get(root, "x")->n_items, 2);
        config_node_free(root);
        root = NULL;

        _cleanup_free_ char *missing = path_join(dir, "missing.yaml");
        assert_int_equal(config_load_file(missing, &root, &err), -1);
        assert_int_equal(err->code, ENOENT);
        assert_int_equal(config_load_file(dir, &root, &err), -1);
        assert_non_null(strstr(err->msg, "is not a regular file"));
        assert_null(root);
        assert_int_equal(fs_remove_tree(dir, &err), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_line_and_column),
                cmocka_unit_test(test_order_kept),
                cmocka_unit_test(test_duplicate_keys),
                cmocka_unit_test(test_aliases_refused),
                cmocka_unit_test(test_billion_laughs),
                cmocka_unit_test(test_depth_limit),
                cmocka_unit_test(test_size_limit),
                cmocka_unit_test(test_syntax_error_has_line),
                cmocka_unit_test(test_documents),
                cmocka_unit_test(test_getters),
                cmocka_unit_test(test_check_keys),
                cmocka_unit_test(test_durations),
                cmocka_unit_test(test_describe_sanitizes),
                cmocka_unit_test(test_load_file),
        };
        return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
