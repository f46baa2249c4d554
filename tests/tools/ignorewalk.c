/* SPDX-License-Identifier: MIT */
/*
 * ignorewalk: walks a tree the way hoist sends it (lib/ignore.c through
 * archive_check_tree_filtered()) and prints what is sent, so the
 * integration tests can compare the verdicts with git's own.
 *   ignorewalk [-a] [-i INCLUDE]... DIR
 * Prints every kept file (not directories), one per line; with -a every
 * entry the walk checks, as "keep|rules|sensitive PATH[/]".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "cleanup.h"
#include "ignore.h"
#include "xalloc.h"

struct walk {
        struct ignore_tree *tree;
        int all;
};

static int visit(void *userdata, const char *rel, const struct stat *st, struct hoist_error **err)
{
        static const char *const names[] = {"keep", "rules", "sensitive"};
        struct walk *w = userdata;
        enum ignore_verdict v;

        if (ignore_tree_check(w->tree, rel, st, &v, err) < 0)
                return -1;
        if (w->all)
                printf("%s %s%s\n", names[v], rel, S_ISDIR(st->st_mode) ? "/" : "");
        else if (v == IGNORE_KEEP && !S_ISDIR(st->st_mode))
                printf("%s\n", rel);
        return v == IGNORE_KEEP;
}

int main(int argc, char **argv)
{
        struct hoist_error *err = NULL;
        struct walk w = {0};
        char **include = xcalloc((size_t)argc, sizeof *include);
        size_t n = 0;
        int opt, r;

        while ((opt = getopt(argc, argv, "ai:")) != -1) {
                if (opt == 'a')
                        w.all = 1;
                else if (opt == 'i')
                        include[n++] = optarg;
                else
                        return 2;
        }
        if (optind + 1 != argc) {
                fprintf(stderr, "usage: ignorewalk [-a] [-i INCLUDE]... DIR\n");
                return 2;
        }
        r = ignore_tree_open(argv[optind], include, &w.tree, &err);
        if (r == 0)
                r = archive_check_tree_filtered(argv[optind], visit, &w, &err);
        ignore_tree_free(w.tree);
        free(include);
        if (r < 0) {
                fprintf(stderr, "ignorewalk: %s\n", err->msg);
                hoist_error_free(err);
                return 1;
        }
        return 0;
}
