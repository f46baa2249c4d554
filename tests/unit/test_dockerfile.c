/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers/testutil.h"
#include "runner/image/dockerfile.h"

/* Parses TEXT expecting failure with exactly message MSG. */
static void parse_fails(const char *text, const char *msg)
{
        struct dockerfile *df = NULL;
        struct hoist_error *err = NULL;

        assert_int_equal(dockerfile_parse(text, strlen(text), "Dockerfile", &df, &err), -1);
        assert_null(df);
        assert_non_null(err);
        if (strcmp(err->msg, msg) != 0)
                fprintf(stderr, "got:  %s\nwant: %s\n", err->msg, msg);
        assert_string_equal(err->msg, msg);
        assert_int_equal(err->code, HOIST_ERR_INPUT);
        hoist_error_free(err);
}

static void test_multi_stage(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df =
                t_parse_dockerfile("# syntax=docker/dockerfile:1\n"
                                   "ARG GO_VERSION=1.22\n"
                                   "ARG BASE\n"
                                   "FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS Build\n"
                                   "WORKDIR /src\n"
                                   "COPY --chown=1000:1000 --chmod=0755 go.mod go.sum ./\n"
                                   "RUN go build -o /out/app .\n"
                                   "\n"
                                   "from scratch\n"
                                   "copy --from=build /out/app /app\n"
                                   "ENTRYPOINT [\"/app\", \"--serve\"]\n"
                                   "CMD [\"--port\", \"8080\"]\n");

        assert_string_equal(df->syntax, "docker/dockerfile:1");
        assert_int_equal(df->escape, '\\');
        assert_int_equal(df->n_meta_args, 2);
        assert_int_equal(df->meta_args[0].kind, DF_ARG);
        assert_string_equal(df->meta_args[0].args[0], "GO_VERSION=1.22");
        assert_int_equal(df->meta_args[0].line, 2);
        assert_int_equal(df->n_stages, 2);

        const struct df_stage *b = &df->stages[0];
        assert_string_equal(b->base, "golang:${GO_VERSION}");
        assert_string_equal(b->name, "build"); /* lower-cased */
        assert_string_equal(b->platform, "$BUILDPLATFORM");
        assert_int_equal(b->line, 4);
        assert_int_equal(b->n_instrs, 3);
        assert_int_equal(b->instrs[1].kind, DF_COPY);
        assert_int_equal(b->instrs[1].n_args, 3);
        assert_string_equal(b->instrs[1].args[2], "./");
        assert_null(b->instrs[1].args[3]);
        assert_string_equal(dockerfile_flag(&b->instrs[1], "chown"), "1000:1000");
        assert_string_equal(dockerfile_flag(&b->instrs[1], "chmod"), "0755");
        assert_null(dockerfile_flag(&b->instrs[1], "from"));
        assert_int_equal(b->instrs[2].kind, DF_RUN);
        assert_false(b->instrs[2].json_form);
        assert_int_equal(b->instrs[2].n_args, 1);
        assert_string_equal(b->instrs[2].args[0], "go build -o /out/app .");
        assert_string_equal(b->instrs[2].original, "RUN go build -o /out/app .");

        const struct df_stage *f = &df->stages[1];
        assert_string_equal(f->base, "scratch");
        assert_null(f->name);
        assert_null(f->platform);
        assert_int_equal(f->line, 9);
        assert_string_equal(dockerfile_flag(&f->instrs[0], "from"), "build");
        assert_int_equal(f->instrs[1].kind, DF_ENTRYPOINT);
        assert_true(f->instrs[1].json_form);
        assert_int_equal(f->instrs[1].n_args, 2);
        assert_string_equal(f->instrs[1].args[1], "--serve");
        assert_int_equal(f->instrs[2].line, 12);

        assert_int_equal(dockerfile_stage_index(df, "build", 2), 0);
        assert_int_equal(dockerfile_stage_index(df, "BUILD", 2), 0);
        assert_int_equal(dockerfile_stage_index(df, "build", 0), -1);
        assert_int_equal(dockerfile_stage_index(df, "0", 1), 0);
        assert_int_equal(dockerfile_stage_index(df, "1", 1), -1);
        assert_int_equal(dockerfile_stage_index(df, "1", 2), 1);
        assert_int_equal(dockerfile_stage_index(df, "nope", 2), -1);
        assert_int_equal(dockerfile_stage_index(df, "1x", 2), -1);
        assert_int_equal(dockerfile_stage_index(df, "", 2), -1);
}

static void test_continuations(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df =
                t_parse_dockerfile("FROM debian:12\r\n"
                                   "RUN apt-get update && \\\r\n"
                                   "    # a comment inside is dropped\r\n"
                                   "\r\n"
                                   "    apt-get install -y curl \\   \r\n"
                                   "    && rm -rf /var/lib/apt/lists/*\r\n"
                                   "   # an indented comment\n"
                                   "  LABEL a=b \\\n"
                                   "        c=\"d e\"\n"
                                   "RUN echo unterminated \\");

        assert_int_equal(df->stages[0].n_instrs, 3);
        const struct df_instr *run = &df->stages[0].instrs[0];
        assert_int_equal(run->line, 2);
        assert_string_equal(run->args[0], "apt-get update &&     apt-get install -y curl     && "
                                          "rm -rf /var/lib/apt/lists/*");
        const struct df_instr *label = &df->stages[0].instrs[1];
        assert_int_equal(label->kind, DF_LABEL);
        assert_int_equal(label->line, 8);
        assert_int_equal(label->n_args, 4);
        assert_string_equal(label->args[0], "a");
        assert_string_equal(label->args[1], "b");
        assert_string_equal(label->args[2], "c");
        assert_string_equal(label->args[3], "\"d e\"");
        assert_string_equal(df->stages[0].instrs[2].args[0], "echo unterminated");
}

/* The Dockerfile reference's example for `# escape=\``. */
static void test_escape_directive(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df =
                t_parse_dockerfile("# escape=`\n"
                                   "\n"
                                   "FROM microsoft/nanoserver\n"
                                   "COPY testfile.txt c:\\\n"
                                   "RUN dir c:\\\n"
                                   "RUN echo a `\n"
                                   "  b\n");

        assert_int_equal(df->escape, '`');
        assert_int_equal(df->stages[0].n_instrs, 3);
        assert_string_equal(df->stages[0].instrs[0].args[1], "c:\\");
        assert_string_equal(df->stages[0].instrs[1].args[0], "dir c:\\");
        assert_string_equal(df->stages[0].instrs[2].args[0], "echo a   b");
}

/* A directive after a comment or blank line is a comment; so is an
 * unknown one, which also ends the directives. */
static void test_directives_end(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df = t_parse_dockerfile("# unknowndirective=value\n"
                                                                        "# escape=`\n"
                                                                        "FROM x\n"
                                                                        "RUN a \\\n"
                                                                        "  b\n");
        assert_int_equal(df->escape, '\\');
        assert_int_equal(df->stages[0].n_instrs, 1);
        assert_string_equal(df->stages[0].instrs[0].args[0], "a   b");

        _cleanup_dockerfile_ struct dockerfile *df2 = t_parse_dockerfile("  #  ESCAPE = ` \n"
                                                                         "# syntax=x\n"
                                                                         "FROM x\n");
        assert_int_equal(df2->escape, '`');
        assert_string_equal(df2->syntax, "x");

        parse_fails("# escape=`\n# escape=\\\nFROM x\n",
                    "'Dockerfile' line 2: only one 'escape' parser directive may be used");
        parse_fails("# escape=x\nFROM x\n", "'Dockerfile' line 1: invalid escape character 'x' in "
                                            "the escape directive (use \\ or `)");
}

static void test_json_forms(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df = t_parse_dockerfile(
                "FROM x\n"
                "RUN [\"/bin/sh\", \"-c\", \"echo \\\"hi\\\" \\\\ $HOME\"]\n"
                "CMD []\n"
                "CMD [\"a\" \"b\"]\n" /* not JSON: shell form */
                "SHELL [\"powershell\", \"-command\"]\n"
                "COPY [\"a file.txt\", \"/dst dir/\"]\n"
                "VOLUME [\"/data\", \"/logs\"]\n"
                "VOLUME /a /b\n"
                "ENTRYPOINT [ \"x\" ]  \n"
                "HEALTHCHECK --interval=5m --timeout=3s CMD curl -f http://localhost/\n"
                "HEALTHCHECK NONE\n"
                "HEALTHCHECK CMD [\"true\"]\n");
        const struct df_instr *in = df->stages[0].instrs;

        assert_true(in[0].json_form);
        assert_int_equal(in[0].n_args, 3);
        assert_string_equal(in[0].args[2], "echo \"hi\" \\ $HOME");
        assert_true(in[1].json_form);
        assert_int_equal(in[1].n_args, 0);
        assert_non_null(in[1].args);
        assert_false(in[2].json_form);
        assert_string_equal(in[2].args[0], "[\"a\" \"b\"]");
        assert_int_equal(in[3].kind, DF_SHELL);
        assert_string_equal(in[3].args[1], "-command");
        assert_true(in[4].json_form);
        assert_string_equal(in[4].args[0], "a file.txt");
        assert_string_equal(in[4].args[1], "/dst dir/");
        assert_int_equal(in[5].n_args, 2);
        assert_true(in[5].json_form);
        assert_false(in[6].json_form);
        assert_string_equal(in[6].args[1], "/b");
        assert_true(in[7].json_form);
        assert_string_equal(in[7].args[0], "x");
        assert_int_equal(in[8].kind, DF_HEALTHCHECK);
        assert_string_equal(in[8].args[0], "CMD");
        assert_string_equal(in[8].args[1], "curl -f http://localhost/");
        assert_false(in[8].json_form);
        assert_string_equal(dockerfile_flag(&in[8], "interval"), "5m");
        assert_string_equal(in[9].args[0], "NONE");
        assert_int_equal(in[9].n_args, 1);
        assert_true(in[10].json_form);
        assert_string_equal(in[10].args[1], "true");
}

static void test_env_label_arg(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df = t_parse_dockerfile(
                "FROM x\n"
                "ENV MY_NAME=\"John Doe\" MY_DOG=Rex\\ The\\ Dog \\\n"
                "    MY_CAT=fluffy\n"
                "ENV MY_VAR my-value with spaces\n"
                "LABEL \"com.example.vendor\"=\"ACME Incorporated\" version=1.0\n"
                "ARG user1=someuser buildno\n"
                "ARG single='a b'\n"
                "EXPOSE 80/tcp 80/udp\n"
                "USER  patrick:staff  \n"
                "WORKDIR /path/to dir\n"
                "STOPSIGNAL SIGKILL\n"
                "MAINTAINER someone <a@b.c>\n");
        const struct df_instr *in = df->stages[0].instrs;

        assert_int_equal(in[0].n_args, 6);
        assert_string_equal(in[0].args[0], "MY_NAME");
        assert_string_equal(in[0].args[1], "\"John Doe\"");
        assert_string_equal(in[0].args[3], "Rex\\ The\\ Dog");
        assert_string_equal(in[0].args[5], "fluffy");
        assert_int_equal(in[1].n_args, 2);
        assert_string_equal(in[1].args[0], "MY_VAR");
        assert_string_equal(in[1].args[1], "my-value with spaces");
        assert_string_equal(in[2].args[0], "\"com.example.vendor\"");
        assert_string_equal(in[2].args[1], "\"ACME Incorporated\"");
        assert_int_equal(in[3].n_args, 2);
        assert_string_equal(in[3].args[0], "user1=someuser");
        assert_string_equal(in[3].args[1], "buildno");
        assert_string_equal(in[4].args[0], "single='a b'");
        assert_int_equal(in[5].n_args, 2);
        assert_string_equal(in[6].args[0], "patrick:staff");
        assert_string_equal(in[7].args[0], "/path/to dir");
        assert_int_equal(in[8].kind, DF_STOPSIGNAL);
        assert_int_equal(in[9].kind, DF_MAINTAINER);
        assert_string_equal(dockerfile_kind_name(in[9].kind), "MAINTAINER");
}

static void test_errors(void **state)
{
        (void)state;
        parse_fails("FROM alpine\n"
                    "# comment\n"
                    "\n"
                    "RUN true\n"
                    "WORKDIR /app\n"
                    "ENV A=1\n"
                    "COPY onlyone\n",
                    "'Dockerfile' line 7: COPY needs at least two arguments (COPY SRC... DEST)");
        parse_fails("", "'Dockerfile' has no FROM instruction (a Dockerfile starts with FROM "
                        "IMAGE, or FROM scratch)");
        parse_fails("# only a comment\nARG X=1\n",
                    "'Dockerfile' has no FROM instruction (a Dockerfile starts with FROM "
                    "IMAGE, or FROM scratch)");
        parse_fails("RUN x\nFROM y\n",
                    "'Dockerfile' line 1: RUN before the first FROM (only ARG may come before "
                    "FROM)");
        parse_fails("FROM x\nFOO bar\n", "'Dockerfile' line 2: unknown instruction 'FOO'");
        parse_fails("FROM x\nONBUILD RUN make\n",
                    "'Dockerfile' line 2: ONBUILD is not supported by hoist build (OCI images "
                    "have no build triggers): run those steps in the Dockerfile that builds "
                    "FROM this image");
        parse_fails("FROM x\nCOPY <<-\"EOT\" /x\n",
                    "'Dockerfile' line 2: heredocs are supported in RUN only, not in COPY; put "
                    "the content in a file in the build context and COPY it");
        parse_fails("FROM x\nCMD cat <<EOF\n",
                    "'Dockerfile' line 2: heredocs are supported in RUN only, not in CMD; put "
                    "the content in a file in the build context and COPY it");
        parse_fails("FROM x\nRUN <<EOF\necho hi\nEOF \n",
                    "'Dockerfile' line 2: the heredoc <<EOF has no closing line 'EOF'");
        parse_fails("FROM x\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n",
                    "'Dockerfile' line 2: RUN <<EOF with a #! line is not supported by hoist "
                    "build; name the interpreter instead (RUN python3 <<EOF)");
        parse_fails("FROM x\nCOPY --frm=a b c\n",
                    "'Dockerfile' line 2: unknown flag --frm for COPY");
        parse_fails("FROM x\nCOPY --from a b\n",
                    "'Dockerfile' line 2: flag --from needs a value (--from=VALUE)");
        parse_fails("FROM x\nCOPY --from=a --from=b c d\n",
                    "'Dockerfile' line 2: flag --from given twice");
        parse_fails("FROM x\nRUN --mount=type=cache,target=/root/.cache make\n",
                    "'Dockerfile' line 2: RUN --mount is not supported by hoist build (RUN runs "
                    "with the stage's filesystem and no extra mounts)");
        parse_fails("FROM x\nSHELL /bin/bash -c\n",
                    "'Dockerfile' line 2: SHELL needs the JSON form with at least one string "
                    "(SHELL [\"/bin/sh\", \"-c\"])");
        parse_fails("FROM x\nCMD [1, 2]\n", "'Dockerfile' line 2: CMD: the JSON array may hold "
                                            "only strings (write [\"a\", \"b\"])");
        parse_fails("FROM x\nENV\n", "'Dockerfile' line 2: ENV needs at least one KEY=VALUE pair");
        parse_fails("FROM x\nENV ONLYKEY\n",
                    "'Dockerfile' line 2: ENV: 'ONLYKEY' has no value (write KEY=VALUE, or KEY "
                    "VALUE)");
        parse_fails("FROM x\nENV A=1 B\n",
                    "'Dockerfile' line 2: ENV: 'B' is not of the form KEY=VALUE (quote values "
                    "that hold blanks: KEY=\"a b\")");
        parse_fails("FROM x\nLABEL =v\n",
                    "'Dockerfile' line 2: LABEL: a name is empty in '=v' (write NAME=VALUE)");
        parse_fails("FROM x AS 1st\n", "'Dockerfile' line 1: invalid stage name '1st': it must "
                                       "start with a letter and hold only letters, digits, "
                                       "'-', '_' and '.'");
        parse_fails("FROM x AS a\nFROM y AS A\n",
                    "'Dockerfile' line 2: stage name 'a' is used twice");
        parse_fails("FROM x y\n", "'Dockerfile' line 1: FROM needs an image and optionally a "
                                  "name (FROM IMAGE [AS NAME])");
        parse_fails("FROM\n", "'Dockerfile' line 1: FROM needs an image and optionally a name "
                              "(FROM IMAGE [AS NAME])");
        parse_fails("FROM x\nRUN\n", "'Dockerfile' line 2: RUN needs a command (RUN "
                                     "[\"executable\", \"arg\"] or RUN command line)");
        parse_fails("FROM x\nWORKDIR\n", "'Dockerfile' line 2: WORKDIR needs exactly one argument");
        parse_fails("FROM x\nHEALTHCHECK --retries=3 NONE\n",
                    "'Dockerfile' line 2: HEALTHCHECK NONE takes no arguments or flags");
        parse_fails("FROM x\nHEALTHCHECK sleep 1\n",
                    "'Dockerfile' line 2: HEALTHCHECK needs NONE or CMD (HEALTHCHECK CMD "
                    "command)");
        parse_fails("FROM x\nADD --checksum=sha256:abc https://x/y /y\n",
                    "'Dockerfile' line 2: ADD --checksum is not supported by hoist build");
        parse_fails("FROM x\nCOPY --link=maybe a b\n",
                    "'Dockerfile' line 2: flag --link takes no value, or true or false");

        struct dockerfile *df = NULL;
        struct hoist_error *err = NULL;
        assert_int_equal(dockerfile_parse("FROM x\0", 7, "d/Dockerfile", &df, &err), -1);
        assert_string_equal(err->msg,
                            "'d/Dockerfile' holds a NUL byte: it is not a text Dockerfile");
        hoist_error_free(err);
}

static void test_run_heredocs(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df =
                t_parse_dockerfile("FROM debian\n"
                                   "RUN <<EOF\n"
                                   "apt-get update\n"
                                   "# kept: the shell reads it\n"
                                   "\n"
                                   "FROM not-an-instruction \\\n"
                                   "EOF\n"
                                   "RUN <<-'EOT'\n"
                                   "\t\techo tabs go\n"
                                   "\tEOT\n"
                                   "RUN cat <<EOF > /etc/a.conf && \\\n"
                                   "    cat 3<<-\"B\" >/b\n"
                                   "a=1\n"
                                   "EOF\n"
                                   "\tb=2\n"
                                   "\tB\n"
                                   "WORKDIR /after\n");
        const struct df_instr *in = df->stages[0].instrs;

        assert_int_equal(df->stages[0].n_instrs, 4);
        assert_int_equal(in[0].n_args, 1);
        assert_string_equal(in[0].args[0], "apt-get update\n# kept: the shell reads it\n\n"
                                           "FROM not-an-instruction \\");
        assert_int_equal(in[1].line, 8);
        assert_string_equal(in[1].args[0], "echo tabs go");
        assert_int_equal(in[2].line, 11);
        assert_string_equal(in[2].args[0], "cat <<EOF > /etc/a.conf &&     cat 3<<-\"B\" >/b\n"
                                           "a=1\nEOF\n\tb=2\n\tB");
        assert_int_equal(in[3].kind, DF_WORKDIR);
        assert_int_equal(in[3].line, 17);
}

/* Shapes that look like heredocs or flags but are not. */
static void test_not_heredoc(void **state)
{
        (void)state;
        _cleanup_dockerfile_ struct dockerfile *df =
                t_parse_dockerfile("FROM x\n"
                                   "RUN echo $((1<<3)) $((1 << 2))\n"
                                   "RUN cat <<< \"here string\"\n"
                                   "COPY -- --weird /x\n"
                                   "COPY --link a b\n"
                                   "COPY --chown=\"a b\" c d\n");
        const struct df_instr *in = df->stages[0].instrs;
        assert_int_equal(df->stages[0].n_instrs, 5);
        assert_string_equal(in[2].args[0], "--weird");
        assert_int_equal(in[2].n_flags, 0);
        assert_string_equal(dockerfile_flag(&in[3], "link"), "");
        assert_string_equal(dockerfile_flag(&in[4], "chown"), "a b");
}

static void test_parse_file(void **state)
{
        (void)state;
        char path[] = "/tmp/hoist-df-XXXXXX";
        int fd = mkstemp(path);
        struct dockerfile *df = NULL;
        struct hoist_error *err = NULL;
        static const char text[] = "FROM scratch\nCOPY a b c\n";

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
        close(fd);
        assert_int_equal(dockerfile_parse_file(path, &df, &err), 0);
        assert_string_equal(df->name, path);
        assert_int_equal(df->stages[0].instrs[0].n_args, 3);
        dockerfile_free(df);
        unlink(path);
        assert_int_equal(dockerfile_parse_file(path, &df, &err), -1);
        assert_non_null(strstr(err->msg, "No such file"));
        hoist_error_free(err);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_multi_stage),      cmocka_unit_test(test_continuations),
                cmocka_unit_test(test_escape_directive), cmocka_unit_test(test_directives_end),
                cmocka_unit_test(test_json_forms),       cmocka_unit_test(test_env_label_arg),
                cmocka_unit_test(test_errors),           cmocka_unit_test(test_not_heredoc),
                cmocka_unit_test(test_parse_file),       cmocka_unit_test(test_run_heredocs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
