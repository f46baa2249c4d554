/* SPDX-License-Identifier: MIT */
/*
 * The S3 XML parser: any bytes must give a tree or an error, never a crash
 * or a leak.  A tree must answer every accessor, and written back out with
 * s3xml_escape() must parse to the same tree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every accessor on every child name of NODE, then the same below. */
static void query(const struct s3xml_node *node)
{
        struct hoist_error *err = NULL;
        uint64_t u;
        int b;

        if (node->name == NULL || node->text == NULL)
                abort();
        for (size_t i = 0; i < node->n_children; i++) {
                const char *name = node->children[i]->name;
                const struct s3xml_node *first = s3xml_child(node, name);
                const struct s3xml_node *c = NULL;
                size_t seen = 0;

                if (first == NULL || strcmp(first->name, name) != 0 ||
                    s3xml_child_text(node, name) != first->text)
                        abort();
                while ((c = s3xml_next(node, name, c)) != NULL)
                        if (strcmp(c->name, name) != 0 || ++seen > node->n_children)
                                abort();
                if (seen == 0)
                        abort();
                if (s3xml_child_u64(node, name, &u, &err) < 0 && err == NULL)
                        abort();
                hoist_error_release(&err);
                if (s3xml_child_bool(node, name, &b, &err) < 0 && err == NULL)
                        abort();
                hoist_error_release(&err);
                query(node->children[i]);
        }
        /* A name no element can have (XML names have no spaces), as S3
         * callers ask for optional elements. */
        if (s3xml_child(node, "No Such") != NULL || s3xml_child_text(node, "") != NULL)
                abort();
        if (s3xml_child_u64(node, "No Such", &u, &err) == 0)
                abort();
        hoist_error_release(&err);
}

/* Writes NODE back out: its text first, then its children. */
static void serialise(struct buf *out, const struct s3xml_node *node)
{
        buf_printf(out, "<%s>", node->name);
        s3xml_escape(out, node->text);
        for (size_t i = 0; i < node->n_children; i++)
                serialise(out, node->children[i]);
        buf_printf(out, "</%s>", node->name);
}

static void same_tree(const struct s3xml_node *a, const struct s3xml_node *b)
{
        if (strcmp(a->name, b->name) != 0 || strcmp(a->text, b->text) != 0 ||
            a->n_children != b->n_children)
                abort();
        for (size_t i = 0; i < a->n_children; i++)
                same_tree(a->children[i], b->children[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct s3xml_node *root = NULL, *back = NULL;
        struct hoist_error *err = NULL;
        struct s3xml_error e = {0};
        struct buf out = {0};

        if (s3xml_parse((const char *)data, size, "fuzz.xml", &root, &err) < 0) {
                if (err == NULL || root != NULL)
                        abort();
                hoist_error_release(&err);
                return 0;
        }
        query(root);
        if (s3xml_parse_error(root, &e) != (strcmp(root->name, "Error") == 0))
                abort();
        s3xml_error_clear(&e);

        serialise(&out, root);
        if (s3xml_parse(out.data, out.len, "fuzz.xml", &back, &err) < 0)
                abort(); /* what we write we must read */
        same_tree(root, back);

        s3xml_free(back);
        s3xml_free(root);
        buf_free(&out);
        return 0;
}
