/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "helpers/testutil.h"
#include "providers/slurm_settings.h"
#include "runner/job/jobfile.h"
#include "xalloc.h"

/* Fixtures are found from the repository root, where `make test` runs. */
#define FIXTURES "tests/data/jobfile"

/* A temporary directory holding data/ (a directory) and one.txt. */
static int setup_dir(void **state)
{
        char tmpl[] = "/tmp/hoist-test-jobfile-XXXXXX";
        struct hoist_error *err = NULL;

        if (mkdtemp(tmpl) == NULL)
                return -1;
        char *dir = realpath(tmpl, NULL);
        _cleanup_free_ char *data = path_join(dir, "data");
        _cleanup_free_ char *one = path_join(dir, "one.txt");
        if (fs_mkdir_p(data, 0755, &err) < 0 ||
            fs_write_file_atomic(one, "1\n", 2, 0644, &err) < 0) {
                hoist_error_free(err);
                free(dir);
                return -1;
        }
        *state = dir;
        return 0;
}

static void test_full_fixture(void **state)
{
        (void)state;
        _cleanup_jobfile_ struct jobfile *jf = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *fixture = realpath(FIXTURES "/full", NULL);

        assert_non_null(fixture);
        if (jobfile_load(FIXTURES "/full/job.yaml", &jf, &err) < 0)
                fail_msg("%s", err->msg);
        assert_string_equal(jf->path, FIXTURES "/full/job.yaml");
        assert_string_equal(jf->dir, fixture);
        assert_string_equal(jf->name, "mnist-small");
        assert_string_equal(jf->image, "registry.local/mnist:1");
        assert_string_equal(jf->command[0], "python");
        assert_string_equal(jf->command[1], "train.py");
        assert_string_equal(jf->command[2], "--data");
        assert_string_equal(jf->command[3], "$HOIST_INPUT_TRAIN"); /* never expanded */
        assert_string_equal(jf->command[4], "--name");
        assert_string_equal(jf->command[5], "small run");
        assert_null(jf->command[6]);
        assert_string_equal(jf->workdir, "/work");
        assert_int_equal(jf->runtime, JOBFILE_RUNTIME_CONTAINER);
        assert_string_equal(jf->provider, "local");
        assert_string_equal(jf->storage, "s3://hoist-bucket/team");

        assert_int_equal(jf->n_inputs, 2);
        _cleanup_free_ char *train = path_join(fixture, "data/train");
        _cleanup_free_ char *config = path_join(fixture, "configs/model.json");
        assert_string_equal(jf->inputs[0].channel, "train");
        assert_string_equal(jf->inputs[0].path, train);
        assert_int_equal(jf->inputs[0].line, 11);
        assert_string_equal(jf->inputs[1].channel, "config");
        assert_string_equal(jf->inputs[1].path, config);

        assert_int_equal(jf->n_hyperparameters, 4);
        assert_string_equal(jf->hyperparameters[0].key, "lr");
        assert_string_equal(jf->hyperparameters[0].value, "0.001");
        assert_string_equal(jobspec_kv_get(jf->hyperparameters, 4, "epochs"), "3");
        assert_string_equal(jobspec_kv_get(jf->hyperparameters, 4, "fp16"), "yes");
        assert_string_equal(jobspec_kv_get(jf->hyperparameters, 4, "optimizer"), "adamw");
        assert_int_equal(jf->n_env, 2);
        assert_string_equal(jobspec_kv_get(jf->env, 2, "PYTHONUNBUFFERED"), "1");
        assert_string_equal(jobspec_kv_get(jf->env, 2, "WANDB_MODE"), "offline");

        _cleanup_free_ char *results = path_join(fixture, "results/");
        assert_string_equal(jf->outputs_download, results);
        assert_int_equal(jf->checkpoint_interval_s, 600);
        assert_int_equal(jf->max_runtime_s, 7200);
        assert_int_equal(jf->stop_grace_s, 90);
}

static void test_fixture_errors(void **state)
{
        (void)state;
        struct jobfile *jf = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;

        assert_int_equal(jobfile_load(FIXTURES "/typo.yaml", &jf, &err), -1);
        assert_string_equal(err->msg, "'" FIXTURES "/typo.yaml':4: unknown field 'max_runtme' in "
                                      "'limits' (did you mean 'max_runtime'?); valid fields: "
                                      "max_runtime, stop_grace");
        assert_int_equal(jobfile_load(FIXTURES "/missing-input.yaml", &jf, &err), -1);
        assert_string_equal(err->msg, "'" FIXTURES "/missing-input.yaml':4: input 'train': path "
                                      "'data/' does not exist (paths are relative to "
                                      "missing-input.yaml's directory)");
        assert_int_equal(jobfile_load(FIXTURES "/nope.yaml", &jf, &err), -1);
        assert_int_equal(err->code, ENOENT);
        assert_null(jf);
}

static void test_minimal_defaults(void **state)
{
        _cleanup_jobfile_ struct jobfile *jf =
                t_parse_jobfile_ok(*state, "name: a\nimage: alpine\n");

        assert_string_equal(jf->name, "a");
        assert_null(jf->command);
        assert_int_equal(jf->runtime, JOBFILE_RUNTIME_AUTO);
        assert_string_equal(jf->provider, "local");
        assert_null(jf->storage);
        assert_null(jf->workdir);
        assert_null(jf->outputs_download);
        assert_int_equal(jf->n_inputs, 0);
        assert_int_equal(jf->n_env, 0);
        assert_int_equal(jf->max_runtime_s, 0);
        assert_string_equal(jf->dir, (const char *)*state);

        /* sections with every entry commented out count as absent */
        _cleanup_jobfile_ struct jobfile *empty =
                t_parse_jobfile_ok(*state, "name: a\nimage: x\n"
                                           "inputs:\n#  train: data\n"
                                           "env:\nhyperparameters: ~\n"
                                           "limits:\noutputs:\n"
                                           "checkpoints:\n");
        assert_int_equal(empty->n_inputs, 0);
        assert_int_equal(empty->n_env, 0);
        assert_int_equal(empty->max_runtime_s, 0);
}

static void test_relative_paths(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *data = path_join(dir, "data");
        _cleanup_free_ char *one = path_join(dir, "one.txt");
        _cleanup_free_ char *out = path_join(dir, "out/models");
        _cleanup_jobfile_ struct jobfile *jf = t_parse_jobfile_ok(dir, "name: paths\n"
                                                                       "command: [true]\n"
                                                                       "inputs:\n"
                                                                       "  a: data\n"
                                                                       "  b: ./data/../one.txt\n"
                                                                       "  c: /tmp\n"
                                                                       "outputs:\n"
                                                                       "  download: out/models\n");

        assert_string_equal(jf->inputs[0].path, data);
        assert_string_equal(jf->inputs[1].path, one); /* canonical */
        assert_string_equal(jf->inputs[2].path, "/tmp");
        assert_int_equal(jf->inputs[2].line, 6);
        assert_string_equal(jf->outputs_download, out);

        /* a relative job.yaml name is anchored at the current directory */
        _cleanup_free_ char *cwd = getcwd(NULL, 0);
        _cleanup_free_ char *parent = xstrdup(dir);
        *strrchr(parent, '/') = '\0';
        assert_int_equal(chdir(parent), 0);
        _cleanup_free_ char *rel = path_join(strrchr(dir, '/') + 1, "job.yaml");
        struct jobfile *jf2 = NULL;
        struct hoist_error *err = NULL;
        const char *text = "name: rel\nruntime: process\ncommand: ls\ninputs: {d: data}\n";
        int r = jobfile_parse(text, strlen(text), rel, &jf2, &err);
        assert_int_equal(chdir(cwd), 0);
        if (r < 0)
                fail_msg("%s", err->msg);
        assert_string_equal(jf2->dir, dir);
        assert_string_equal(jf2->path, rel);
        assert_string_equal(jf2->inputs[0].path, data);
        jobfile_free(jf2);
}

/* An input path that is itself a symlink is resolved, and remembered as
 * written so that submit can show where it leads. */
static void test_input_symlink_resolved(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *data = path_join(dir, "data");
        _cleanup_free_ char *link = path_join(dir, "datalink");
        _cleanup_free_ char *inner = path_join(dir, "data/inner");

        assert_int_equal(symlink("data", link), 0);
        assert_int_equal(fs_mkdir_p(inner, 0755, NULL), 0);
        _cleanup_jobfile_ struct jobfile *jf = t_parse_jobfile_ok(dir, "name: links\n"
                                                                       "command: [true]\n"
                                                                       "inputs:\n"
                                                                       "  a: datalink/\n"
                                                                       "  b: datalink/inner\n"
                                                                       "  c: data\n");

        assert_string_equal(jf->inputs[0].path, data);
        assert_string_equal(jf->inputs[0].link, "datalink/");
        assert_string_equal(jf->inputs[1].path, inner);
        assert_null(jf->inputs[1].link); /* a link on the way, not the input itself */
        assert_null(jf->inputs[2].link);
}

/* storage: URLs that open are taken as written, the built-in endpoint's too. */
static void test_storage_urls(void **state)
{
        const char *dir = *state;
        static const char *const ok[] = {"s3://bkt", "s3://bkt/team/a/", "file:///tmp/store",
                                         "hoist://builtin"};

        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
                _cleanup_free_ char *text =
                        xasprintf("name: s\ncommand: [true]\nstorage: %s\n", ok[i]);
                _cleanup_jobfile_ struct jobfile *jf = t_parse_jobfile_ok(dir, text);
                assert_string_equal(jf->storage, ok[i]);
        }
}

static void command_is(const char *dir, const char *yaml_value, const char *const *want)
{
        _cleanup_free_ char *text = xasprintf("name: c\ncommand: %s\n", yaml_value);
        _cleanup_jobfile_ struct jobfile *jf = t_parse_jobfile_ok(dir, text);
        size_t i = 0;

        for (; want[i] != NULL; i++) {
                assert_non_null(jf->command[i]);
                assert_string_equal(jf->command[i], want[i]);
        }
        assert_null(jf->command[i]);
}

static void test_command_splitting(void **state)
{
        const char *dir = *state;

        command_is(dir, "python train.py", (const char *const[]){"python", "train.py", NULL});
        command_is(dir, "'  python   -u  '", (const char *const[]){"python", "-u", NULL});
        command_is(dir, "\"python 'a b'   \\\"c d\\\"\"",
                   (const char *const[]){"python", "a b", "c d", NULL});
        command_is(dir, "echo 'it''s' \"say \\\"hi\\\"\" a\\ b x\"y z\"w ''",
                   (const char *const[]){"echo", "its", "say \"hi\"", "a b", "xy zw", "", NULL});
        command_is(dir, "|\n  sh -c\n  'echo $HOME | wc -c'\n",
                   (const char *const[]){"sh", "-c", "echo $HOME | wc -c", NULL});
        command_is(dir, "\"tab\\tsep\"", (const char *const[]){"tab", "sep", NULL});
        command_is(dir, "'x \"y\" \\z'", (const char *const[]){"x", "y", "z", NULL});
        command_is(dir, "[python, \"a b\", '']", (const char *const[]){"python", "a b", "", NULL});

        t_parse_jobfile_fails(
                dir, "name: c\ncommand: python 'train.py\n",
                "'job.yaml':2: field 'command': a quote is not closed in 'python 'train.py'");
        t_parse_jobfile_fails(dir, "name: c\ncommand: '\"oops'\n",
                              "'job.yaml':2: field 'command': a quote is not closed in '\"oops'");
        t_parse_jobfile_fails(
                dir, "name: c\ncommand: '   '\n",
                "'job.yaml':2: field 'command': expected a command (a sequence of strings, "
                "or one string), got an empty string");
        t_parse_jobfile_fails(
                dir, "name: c\ncommand: []\n",
                "'job.yaml':2: field 'command': expected the program to run as the first "
                "item, got an empty sequence");
        t_parse_jobfile_fails(
                dir, "name: c\ncommand: {a: 1}\n",
                "'job.yaml':2: field 'command': expected a command (a sequence of strings, "
                "or one string), got a mapping");
        t_parse_jobfile_fails(
                dir, "name: c\ncommand:\n  - python\n  - [x]\n",
                "'job.yaml':4: field 'command[1]': expected a string, got a sequence");
        t_parse_jobfile_fails(
                dir, "name: c\ncommand:\n",
                "'job.yaml':2: field 'command': expected a command (a sequence of strings, "
                "or one string), got nothing");
}

static void test_durations(void **state)
{
        (void)state;
        assert_int_equal(jobfile_parse_duration("90"), 90);
        assert_int_equal(jobfile_parse_duration("90s"), 90);
        assert_int_equal(jobfile_parse_duration("15m"), 900);
        assert_int_equal(jobfile_parse_duration("2h"), 7200);
        assert_int_equal(jobfile_parse_duration("1d"), 86400);
        assert_int_equal(jobfile_parse_duration("0s"), 0);
        assert_int_equal(jobfile_parse_duration("-1"), -1);
        assert_int_equal(jobfile_parse_duration("-1h"), -1);
        assert_int_equal(jobfile_parse_duration("1.5h"), -1);
        assert_int_equal(jobfile_parse_duration("h"), -1);
        assert_int_equal(jobfile_parse_duration("2hh"), -1);
        assert_int_equal(jobfile_parse_duration("2 h"), -1);
        assert_int_equal(jobfile_parse_duration("1w"), -1);
        assert_int_equal(jobfile_parse_duration("99999999999999999999"), -1);
        assert_int_equal(jobfile_parse_duration("153722867280912931m"), -1);
        assert_int_equal(jobfile_parse_duration(""), -1);
        assert_string_equal(jobfile_runtime_name(JOBFILE_RUNTIME_AUTO), "auto");
        assert_string_equal(jobfile_runtime_name(JOBFILE_RUNTIME_CONTAINER), "container");
        assert_string_equal(jobfile_runtime_name(JOBFILE_RUNTIME_PROCESS), "process");
}

static void test_field_errors(void **state)
{
        const char *dir = *state;
        static const struct {
                const char *yaml, *want;
        } cases[] = {
                {"name: a\nimage: x\nimgae: y\n",
                 "'job.yaml':3: unknown field 'imgae' (did you mean 'image'?); valid fields: "
                 "name, image, command, workdir, runtime, provider, storage, inputs, "
                 "hyperparameters, env, outputs, checkpoints, limits, retry, webhooks, build, "
                 "resources, code, include, consent, secrets, distributed, slurm, sagemaker, "
                 "replicate, compose, kubernetes"},
                {"image: x\n", "'job.yaml':1: field 'name': missing (every job needs a name, like "
                               "'mnist-train')"},
                {"name: My_Job\nimage: x\n",
                 "'job.yaml':1: field 'name': expected 1-63 of a-z, 0-9 and '-', starting with a "
                 "letter or digit, got 'My_Job'"},
                {"name: -a\nimage: x\n", "'job.yaml':1: field 'name': expected 1-63 of a-z, 0-9 "
                                         "and '-', starting with a letter or digit, got '-a'"},
                {"name: [a]\n", "'job.yaml':1: field 'name': expected a string, got a sequence"},
                {"name: a\nimage: x\nruntime: docker\n",
                 "'job.yaml':3: field 'runtime': expected auto, container or process, got "
                 "'docker'"},
                {"name: a\n", "'job.yaml':1: the job needs 'image' (a container image), "
                              "'command' (a program to run), or both"},
                {"name: a\ncommand: ls\nruntime: container\n",
                 "'job.yaml':3: field 'runtime': container needs 'image' (or use runtime: "
                 "process)"},
                {"name: a\nimage: x\nruntime: process\n",
                 "'job.yaml':3: field 'runtime': process needs 'command' (the program to run)"},
                {"name: a\nimage: x\n\ninputs:\n  train: data/\n  eval: nothing/here\n",
                 "'job.yaml':6: input 'eval': path 'nothing/here' does not exist (paths are "
                 "relative to job.yaml's directory)"},
                {"name: a\nimage: x\ninputs:\n  Train-Set: data\n",
                 "'job.yaml':4: input 'Train-Set': a channel name is 1-64 of a-z, 0-9 and _, "
                 "starting with a letter"},
                {"name: a\nimage: x\ninputs: [data]\n",
                 "'job.yaml':3: field 'inputs': expected a mapping, got a sequence"},
                {"name: a\nimage: x\ninputs:\n  train:\n",
                 "'job.yaml':4: field 'inputs.train': expected a string, got nothing"},
                {"name: a\nimage: x\nhyperparameters:\n  lr: [0.1]\n",
                 "'job.yaml':4: field 'hyperparameters.lr': expected a value (a number, string or "
                 "boolean), got a sequence"},
                {"name: a\nimage: x\nenv:\n  MY-VAR: 1\n",
                 "'job.yaml':4: env 'MY-VAR': expected a variable name (A-Z, a-z, 0-9 and _, not "
                 "starting with a digit)"},
                {"name: a\nimage: x\nenv:\n  1ABC: 1\n",
                 "'job.yaml':4: env '1ABC': expected a variable name (A-Z, a-z, 0-9 and _, not "
                 "starting with a digit)"},
                {"name: a\nimage: x\nenv:\n  OK: 1\n  HOIST_JOB_URL: x\n",
                 "'job.yaml':5: env 'HOIST_JOB_URL': names starting with HOIST_ are reserved for "
                 "hoist itself"},
                {"name: a\nimage: x\nenv:\n  A:\n",
                 "'job.yaml':4: field 'env.A': expected a value (a number, string or boolean), "
                 "got nothing"},
                {"name: a\nimage: x\nlimits:\n  stop_grace: 1m\n\n\n\n\n\n\n  max_runtime: soon\n",
                 "'job.yaml':11: field 'limits.max_runtime': expected a duration like 90s, 15m or "
                 "2h, got 'soon'"},
                {"name: a\nimage: x\nlimits:\n  max_runtime: -5m\n",
                 "'job.yaml':4: field 'limits.max_runtime': expected a duration like 90s, 15m or "
                 "2h, got '-5m'"},
                {"name: a\nimage: x\ncheckpoints:\n  interval: [1]\n",
                 "'job.yaml':4: field 'checkpoints.interval': expected a duration like 90s, 15m "
                 "or 2h, got a sequence"},
                {"name: a\nimage: x\ncheckpoints:\n  every: 5m\n",
                 "'job.yaml':4: unknown field 'every' in 'checkpoints'; valid fields: interval"},
                {"name: a\nimage: x\nlimits: 2h\n",
                 "'job.yaml':3: field 'limits': expected a mapping, got '2h'"},
                {"name: a\nimage: x\noutputs:\n  download: ~\n",
                 "'job.yaml':4: field 'outputs.download': expected a string, got null ('~')"},
                {"- name: a\n", "'job.yaml':1: expected a mapping of job fields (name, image, "
                                "command, ...), got a sequence"},
                {"name: a\nname: b\n", "'job.yaml':2: duplicate key 'name' (first at line 1)"},
                {"name: a\nimage: [x\n", "'job.yaml':3:1: YAML syntax error: did not find "
                                         "expected ',' or ']' (while parsing a flow sequence at "
                                         "line 2)"},
                {"name: &n a\nimage: x\n", "'job.yaml':1:7: anchor '&n' is not supported "
                                           "(anchors and aliases are refused; write the value "
                                           "out)"},
                {"", "'job.yaml': the document is empty"},
                {"name: a\nimage: x\n\nstorage: s3://bkt/team//dbl/\n",
                 "'job.yaml':4: field 'storage': storage 's3://bkt/team//dbl/': the prefix "
                 "'team//dbl' has an empty, '.' or '..' segment, or a control character, and so "
                 "would every key under it (write s3://bkt/team/dbl/)"},
                {"name: a\nimage: x\nstorage: file://rel/dir\n",
                 "'job.yaml':3: field 'storage': storage 'file://rel/dir': a file:// URL needs an "
                 "absolute path (file:///abs/dir)"},
                {"name: a\nimage: x\nstorage: gs://b\n",
                 "'job.yaml':3: field 'storage': storage 'gs://b': use file:///abs/dir or "
                 "s3://bucket/prefix"},
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                t_parse_jobfile_fails(dir, cases[i].yaml, cases[i].want);
}

static void test_hyperparameters_as_written(void **state)
{
        _cleanup_jobfile_ struct jobfile *jf = t_parse_jobfile_ok(*state, "name: h\n"
                                                                          "image: x\n"
                                                                          "hyperparameters:\n"
                                                                          "  lr: 1.0e-3\n"
                                                                          "  big: 0x10\n"
                                                                          "  flag: off\n"
                                                                          "  nothing: null\n"
                                                                          "  quoted: \"\"\n"
                                                                          "  text: hello world\n");
        const struct jobspec_kv *h = jf->hyperparameters;

        assert_int_equal(jf->n_hyperparameters, 6);
        assert_string_equal(h[0].value, "1.0e-3");
        assert_string_equal(h[1].value, "0x10");
        assert_string_equal(h[2].value, "off");
        assert_string_equal(h[3].value, "null");
        assert_string_equal(h[4].value, "");
        assert_string_equal(h[5].value, "hello world");
}

/* webhooks: url, events, and where the secret is; never the secret. */
static void webhook_fails(const char *dir, const char *text, const char *want)
{
        struct jobfile *jf = NULL;
        _cleanup_error_ struct hoist_error *err = NULL;
        _cleanup_free_ char *path = path_join(dir, "job.yaml");

        assert_int_equal(jobfile_parse(text, strlen(text), path, &jf, &err), -1);
        assert_null(jf);
        if (strstr(err->msg, want) == NULL)
                fail_msg("'%s' does not say '%s'", err->msg, want);
}

static void test_webhooks(void **state)
{
        const char *dir = *state;
        _cleanup_jobfile_ struct jobfile *jf =
                t_parse_jobfile_ok(dir, "name: a\nimage: alpine\nwebhooks:\n"
                                        "  - url: https://ci.example.org/h\n"
                                        "    secret_env: CI_SECRET\n"
                                        "  - url: http://127.0.0.1:9/x\n"
                                        "    events: [job.succeeded, gpu.fault, job.*]\n"
                                        "    secret_file: s/hook.secret\n");
        _cleanup_free_ char *file = path_join(dir, "s/hook.secret");

        assert_int_equal(jf->n_webhooks, 2);
        assert_string_equal(jf->webhooks[0].url, "https://ci.example.org/h");
        assert_null(jf->webhooks[0].events);
        assert_string_equal(jf->webhooks[0].secret_env, "CI_SECRET");
        assert_null(jf->webhooks[0].secret_file);
        assert_string_equal(jf->webhooks[1].events[1], "gpu.fault");
        assert_null(jf->webhooks[1].events[3]);
        assert_string_equal(jf->webhooks[1].secret_file, file);

        webhook_fails(dir,
                      "name: a\nimage: x\nwebhooks:\n  - url: https://h\n    secret: whsec_abc\n",
                      "a secret does not belong in job.yaml");
        webhook_fails(dir, "name: a\nimage: x\nwebhooks:\n  - events: [job.failed]\n",
                      "needs 'url'");
        webhook_fails(dir, "name: a\nimage: x\nwebhooks:\n  - url: ftp://h\n",
                      "must start with http:// or https://");
        webhook_fails(dir,
                      "name: a\nimage: x\nwebhooks:\n  - url: http://h\n    events: [job.done]\n",
                      "unknown event type 'job.done'");
        webhook_fails(dir, "name: a\nimage: x\nwebhooks:\n  - url: http://h\n    secret_env: 1X\n",
                      "'1X' is not an environment variable name");
        webhook_fails(dir,
                      "name: a\nimage: x\nwebhooks:\n  - url: http://h\n    secret_env: A\n"
                      "    secret_file: f\n",
                      "not both");
        webhook_fails(dir, "name: a\nimage: x\nwebhooks: {url: http://h}\n", "expected a list");
}

/* secrets: where each value is, never the value; ~/ is $HOME. */
static void test_secrets(void **state)
{
        const char *dir = *state;
        _cleanup_free_ char *saved = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
        _cleanup_free_ char *rel = path_join(dir, "keys/wandb");
        struct jobfile *jf;

        assert_int_equal(setenv("HOME", "/home/u", 1), 0);
        jf = t_parse_jobfile_ok(dir, "name: a\nimage: x\nenv: {A: b}\nsecrets:\n"
                                     "  HF_TOKEN: {env: HF_TOKEN}\n"
                                     "  WANDB_API_KEY: {file: keys/wandb}\n"
                                     "  OTHER: {file: ~/.config/k}\n"
                                     "  ABS: {file: /etc/k}\n");
        assert_int_equal(jf->n_secrets, 4);
        assert_string_equal(jf->secrets[0].name, "HF_TOKEN");
        assert_string_equal(jf->secrets[0].env, "HF_TOKEN");
        assert_null(jf->secrets[0].file);
        assert_string_equal(jf->secrets[1].file, rel);
        assert_string_equal(jf->secrets[2].file, "/home/u/.config/k");
        assert_string_equal(jf->secrets[3].file, "/etc/k");
        jobfile_free(jf);
        if (saved != NULL)
                assert_int_equal(setenv("HOME", saved, 1), 0);

        webhook_fails(dir, "name: a\nimage: x\nsecrets:\n  TOKEN: hf_abc\n",
                      "the value itself does not belong in job.yaml");
        webhook_fails(dir, "name: a\nimage: x\nsecrets:\n  HOIST_X: {env: A}\n",
                      "HOIST_ is reserved");
        webhook_fails(dir, "name: a\nimage: x\nsecrets:\n  1A: {env: A}\n",
                      "expected a variable name");
        webhook_fails(dir, "name: a\nimage: x\nsecrets:\n  A: {env: B, file: f}\n",
                      "exactly one of 'env'");
        webhook_fails(dir, "name: a\nimage: x\nsecrets:\n  A: {}\n", "exactly one of 'env'");
        webhook_fails(dir, "name: a\nimage: x\nsecrets:\n  A: {value: x}\n",
                      "unknown field 'value'");
        webhook_fails(dir, "name: a\nimage: x\nsecrets:\n  A: {env: 9x}\n",
                      "'9x' is not an environment variable name");
        webhook_fails(dir, "name: a\nimage: x\nenv: {A: b}\nsecrets:\n  A: {env: A}\n",
                      "also set in env");
        webhook_fails(dir, "name: a\nimage: x\nsecrets: [A]\n", "secrets");
}

static void test_retry(void **state)
{
        const char *dir = *state;
        _cleanup_jobfile_ struct jobfile *jf =
                t_parse_jobfile_ok(dir, "name: a\nimage: x\nretry: {on: [interruption], max: 3}\n");
        _cleanup_jobfile_ struct jobfile *none = t_parse_jobfile_ok(dir, "name: a\nimage: x\n");

        assert_string_equal(jf->retry_on[0], "interruption");
        assert_null(jf->retry_on[1]);
        assert_int_equal(jf->retry_max, 3);
        assert_null(none->retry_on);
        t_parse_jobfile_fails(dir, "name: a\nimage: x\nretry:\n  on: [preemption]\n  max: 1\n",
                              "'job.yaml':4: field 'retry.on': unknown reason 'preemption' (known: "
                              "interruption)");
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\nretry:\n  on: [interruption]\n  max: 101\n",
                "'job.yaml':5: field 'retry.max': expected an integer from 0 to 100, got "
                "'101'");
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\nretry:\n  max: 1\n",
                "'job.yaml':4: field 'retry': needs 'on' (a list of reasons: interruption) "
                "and 'max' (how many new attempts, 0-100)");
        webhook_fails(dir, "name: a\nimage: x\nretry: {on: [interruption], max: 1, every: 2}\n",
                      "unknown field 'every'");
}

static void test_build_create_repository(void **state)
{
        const char *dir = *state;
        _cleanup_jobfile_ struct jobfile *jf =
                t_parse_jobfile_ok(dir, "name: a\nbuild:\n  context: .\n  push: 1.dkr.ecr.x/r:1\n"
                                        "  create_repository: true\ncommand: [x]\n");
        _cleanup_jobfile_ struct jobfile *off = t_parse_jobfile_ok(
                dir, "name: a\nbuild:\n  context: .\n  push: r/x:1\ncommand: [x]\n");

        assert_true(jf->build->create_repository);
        assert_false(off->build->create_repository);
        t_parse_jobfile_fails(dir,
                              "name: a\ncommand: [x]\nbuild:\n  context: .\n"
                              "  create_repository: true\n",
                              "'job.yaml':5: field 'build.create_repository': is true but there is "
                              "no 'build.push' (the ECR repository to create is the one "
                              "build.push names)");
        t_parse_jobfile_fails(dir,
                              "name: a\ncommand: [x]\nbuild:\n  context: .\n  push: r/x:1\n"
                              "  create_repository: maybe\n",
                              "'job.yaml':6: field 'build.create_repository': expected true or "
                              "false, got 'maybe'");
}

/* A provider's own section: checked by it at load, kept with the jobfile. */
static void test_provider_section(void **state)
{
        const char *dir = *state;
        _cleanup_jobfile_ struct jobfile *jf = t_parse_jobfile_ok(
                dir, "name: a\nimage: x\nprovider: slurm\nslurm:\n  partition: gpu\n  time: 2h\n");
        _cleanup_jobfile_ struct jobfile *plain =
                t_parse_jobfile_ok(dir, "name: a\nimage: x\nprovider: slurm\n");
        _cleanup_jobfile_ struct jobfile *local = t_parse_jobfile_ok(dir, "name: a\nimage: x\n");
        const struct slurm_settings *s = jf->provider_settings;

        assert_non_null(s);
        assert_string_equal(s->partition, "gpu");
        assert_int_equal(s->time_s, 7200);
        /* no section: the provider's defaults */
        assert_non_null(plain->provider_settings);
        assert_null(((const struct slurm_settings *)plain->provider_settings)->partition);
        assert_null(local->provider_settings);
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\nprovider: slurm\nslurm:\n  partiton: gpu\n",
                "'job.yaml':5: unknown field 'partiton' in 'slurm' (did you mean "
                "'partition'?); valid fields: partition, account, qos, constraint, time, "
                "extra_args, host, gres_type, nodes_per_host, container_runtime");
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\nslurm:\n  partition: gpu\n",
                "'job.yaml':3: field 'slurm': is the slurm provider's section, and this "
                "job's provider is 'local' (set 'provider: slurm', or remove the section)");
}

static void test_resources(void **state)
{
        const char *dir = *state;
        _cleanup_jobfile_ struct jobfile *jf = t_parse_jobfile_ok(
                dir, "name: a\nimage: x\nresources:\n  gpus: \"H100:8\"\n  cpus: 0.5\n"
                     "  memory: 32GiB\n  disk: 100G\n  spot: true\n");
        _cleanup_jobfile_ struct jobfile *plain = t_parse_jobfile_ok(
                dir, "name: a\nimage: x\nresources: {gpus: 2, memory: 268435456}\n");
        _cleanup_jobfile_ struct jobfile *none = t_parse_jobfile_ok(dir, "name: a\nimage: x\n");

        assert_int_equal(jf->resources.gpus, 8);
        assert_string_equal(jf->resources.gpu_type, "H100");
        assert_int_equal(jf->resources.cpus_milli, 500);
        assert_int_equal(jf->resources.memory_bytes, 32ULL << 30);
        assert_int_equal(jf->resources.disk_bytes, 100ULL << 30);
        assert_int_equal(jf->resources.spot, 1);
        assert_int_equal(jf->resources_line, 3);
        assert_int_equal(none->resources_line, 0);
        assert_int_equal(plain->resources.gpus, 2);
        assert_null(plain->resources.gpu_type);
        assert_int_equal(plain->resources.memory_bytes, 268435456);
        assert_int_equal(plain->resources.spot, 0);
        assert_int_equal(none->resources.gpus, 0);
        assert_int_equal(none->resources.cpus_milli, 0);

        /* the first thing a new user writes */
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\ngpus: 8\n",
                "'job.yaml':3: field 'gpus' goes under 'resources:' (resources: {gpus: ...}; "
                "docs/job.md \"resources\")");
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\ncpu: 2\n",
                "'job.yaml':3: field 'cpu' goes under 'resources:' (resources: {cpus: ...}; "
                "docs/job.md \"resources\")");
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\nresources:\n  gpus: -1\n",
                "'job.yaml':4: field 'resources.gpus': a GPU count cannot be negative, got "
                "'-1'");
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\nresources:\n  gpus: \"H100:0\"\n",
                "'job.yaml':4: field 'resources.gpus': expected a GPU count from 1 to 64 "
                "after 'H100:', got '0'");
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\nresources:\n  cpus: 0\n",
                "'job.yaml':4: field 'resources.cpus': expected more than 0 CPUs, got '0' "
                "(leave 'cpus' out to ask for none in particular)");
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\nresources:\n  memory: 32GB\n",
                "'job.yaml':4: field 'resources.memory': '32GB' is ambiguous (GB is 1000^N "
                "to some, 1024^N to others): write 32GiB for 1024^N, as hoist and docker "
                "read 32G");
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\nresources:\n  disk: 1PB\n",
                "'job.yaml':4: field 'resources.disk': expected a size like 32GiB or 512M, "
                "got '1PB' (units: B, K/Ki/KiB, M/Mi/MiB, G/Gi/GiB or T/Ti/TiB, powers of "
                "1024)");
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\nresources:\n  spot: maybe\n",
                "'job.yaml':4: field 'resources.spot': expected true or false, got 'maybe'");
        t_parse_jobfile_fails(
                dir, "name: a\nimage: x\nresources:\n  gpus: [1]\n",
                "'job.yaml':4: field 'resources.gpus': expected a value (a number, string or "
                "boolean), got a sequence");
        t_parse_jobfile_fails(dir, "name: a\nimage: x\nresources: 4\n",
                              "'job.yaml':3: field 'resources': expected a mapping, got '4'");
        webhook_fails(dir, "name: a\nimage: x\nresources: {gpu: 1}\n", "unknown field 'gpu'");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_fixture),
                cmocka_unit_test(test_fixture_errors),
                cmocka_unit_test_setup_teardown(test_minimal_defaults, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_input_symlink_resolved, setup_dir,
                                                t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_storage_urls, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_relative_paths, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_command_splitting, setup_dir, t_teardown_dir),
                cmocka_unit_test(test_durations),
                cmocka_unit_test_setup_teardown(test_secrets, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_webhooks, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_retry, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_build_create_repository, setup_dir,
                                                t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_resources, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_provider_section, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_field_errors, setup_dir, t_teardown_dir),
                cmocka_unit_test_setup_teardown(test_hyperparameters_as_written, setup_dir,
                                                t_teardown_dir),
        };
        return cmocka_run_group_tests_name("jobfile", tests, NULL, NULL);
}
