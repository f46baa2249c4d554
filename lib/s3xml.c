/* SPDX-License-Identifier: MIT */
/*
 * The S3 API's XML (the S3 API reference, "ListObjectsV2", "Error
 * responses", ...) read with expat into an element tree.  The input is
 * untrusted on both sides (a server's response, a client's request body),
 * so anything beyond plain elements and text is refused rather than
 * interpreted: a DOCTYPE, and with it every entity declaration, stops the
 * parse before expat could expand or fetch anything.
 */
#include "s3xml.h"

#include <expat.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* With XML_ParserCreateNS, names arrive as "uri|local"; '|' cannot occur in
 * a local name, so the local name is whatever follows the last one. */
#define NS_SEP '|'

/*
 * What the parser allocates for each element: the public node plus its
 * place among its parent's children, so that s3xml_next() continues from
 * PREV in O(1) instead of rescanning (a CompleteMultipartUpload body may
 * list 10000 parts, a hostile one 200000).  The public node comes first, so
 * free(node) releases the whole thing.
 */
struct node_impl {
        struct s3xml_node pub;
        size_t index;
};

struct frame {
        struct s3xml_node *node;
        size_t cap; /* slots allocated in node->children */
        struct buf text;
};

struct parse_state {
        XML_Parser parser;
        struct s3xml_node *root;
        struct frame stack[S3XML_MAX_DEPTH];
        size_t depth;
        size_t n_elements;
        char *failure; /* why a handler stopped the parser */
};

/* expat may still deliver a few events after XML_StopParser() (the end of
 * an empty element stopped in its start handler, for one); every handler
 * checks st->failure first and ignores them. */
static void stop(struct parse_state *st, char *why)
{
        if (st->failure != NULL) {
                free(why);
                return;
        }
        st->failure = why;
        (void)XML_StopParser(st->parser, XML_FALSE);
}

static const char *local_name(const XML_Char *name)
{
        const char *sep = strrchr(name, NS_SEP);

        return sep != NULL ? sep + 1 : name;
}

static void add_child(struct frame *parent, struct node_impl *child)
{
        struct s3xml_node *p = parent->node;

        if (p->n_children == parent->cap) {
                parent->cap = parent->cap == 0 ? 4 : parent->cap * 2;
                p->children = xreallocarray(p->children, parent->cap, sizeof *p->children);
        }
        child->index = p->n_children;
        p->children[p->n_children++] = &child->pub;
}

static void XMLCALL on_start(void *user, const XML_Char *name, const XML_Char **attrs)
{
        struct parse_state *st = user;
        struct node_impl *impl;

        (void)attrs; /* S3 carries nothing in attributes but xmlns */
        if (st->failure != NULL)
                return;
        if (st->depth == S3XML_MAX_DEPTH) {
                stop(st, xasprintf("elements nest more than %d levels deep", S3XML_MAX_DEPTH));
                return;
        }
        if (st->n_elements == S3XML_MAX_ELEMENTS) {
                stop(st, xasprintf("more than %d elements", S3XML_MAX_ELEMENTS));
                return;
        }
        impl = xzalloc(sizeof *impl);
        impl->pub.name = xstrdup(local_name(name));
        st->n_elements++;
        /* Linked into the tree at once, so freeing the root on an error
         * frees everything parsed so far. */
        if (st->depth == 0)
                st->root = &impl->pub;
        else
                add_child(&st->stack[st->depth - 1], impl);
        st->stack[st->depth++] = (struct frame){.node = &impl->pub};
}

static void XMLCALL on_end(void *user, const XML_Char *name)
{
        struct parse_state *st = user;
        struct frame *f;

        (void)name;
        if (st->failure != NULL || st->depth == 0)
                return;
        f = &st->stack[--st->depth];
        f->node->text = buf_take(&f->text);
}

static void XMLCALL on_text(void *user, const XML_Char *s, int len)
{
        struct parse_state *st = user;

        if (st->failure != NULL || st->depth == 0 || len <= 0)
                return;
        buf_append(&st->stack[st->depth - 1].text, s, (size_t)len);
}

static void XMLCALL on_doctype(void *user, const XML_Char *doctype, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
        (void)doctype;
        (void)sysid;
        (void)pubid;
        (void)has_internal_subset;
        stop(user, xstrdup("DTDs are not accepted"));
}

static void XMLCALL on_entity_decl(void *user, const XML_Char *entity, int is_parameter,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
        (void)entity;
        (void)is_parameter;
        (void)value;
        (void)value_len;
        (void)base;
        (void)sysid;
        (void)pubid;
        (void)notation;
        stop(user, xstrdup("entity declarations are not accepted"));
}

/* Unreachable while DTDs are refused; there so that nothing is ever
 * fetched should that change. */
static int XMLCALL on_external_entity(XML_Parser parser, const XML_Char *context,
                                      const XML_Char *base, const XML_Char *sysid,
                                      const XML_Char *pubid)
{
        (void)parser;
        (void)context;
        (void)base;
        (void)sysid;
        (void)pubid;
        return XML_STATUS_ERROR;
}

static void parse_state_done(struct parse_state *st)
{
        for (size_t i = 0; i < st->depth; i++)
                buf_free(&st->stack[i].text);
        s3xml_free(st->root);
        free(st->failure);
        if (st->parser != NULL)
                XML_ParserFree(st->parser);
}

int s3xml_parse(const char *data, size_t len, const char *name, struct s3xml_node **ret_root,
                struct hoist_error **err)
{
        struct parse_state st = {0};
        enum XML_Status status;

        if (len > S3XML_MAX_SIZE)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "'%s': %zu bytes of XML; at most %u are accepted", name,
                                        len, S3XML_MAX_SIZE);
        st.parser = XML_ParserCreateNS(NULL, NS_SEP);
        if (st.parser == NULL)
                abort(); /* expat fails only for want of memory */
        XML_SetUserData(st.parser, &st);
        XML_SetElementHandler(st.parser, on_start, on_end);
        XML_SetCharacterDataHandler(st.parser, on_text);
        XML_SetStartDoctypeDeclHandler(st.parser, on_doctype);
        XML_SetEntityDeclHandler(st.parser, on_entity_decl);
        XML_SetExternalEntityRefHandler(st.parser, on_external_entity);
        (void)XML_SetParamEntityParsing(st.parser, XML_PARAM_ENTITY_PARSING_NEVER);

        status = XML_Parse(st.parser, data != NULL ? data : "", (int)len, XML_TRUE);
        if (status != XML_STATUS_OK || st.failure != NULL || st.root == NULL || st.depth != 0) {
                const char *why = st.failure != NULL ? st.failure
                                                     : XML_ErrorString(XML_GetErrorCode(st.parser));

                /* expat counts lines from 1 and columns from 0. */
                (void)hoist_error_make(
                        err, HOIST_ERR_INPUT, "'%s': line %llu, column %llu: %s", name,
                        (unsigned long long)XML_GetCurrentLineNumber(st.parser),
                        (unsigned long long)XML_GetCurrentColumnNumber(st.parser) + 1,
                        why != NULL ? why : "malformed XML");
                parse_state_done(&st);
                return -1;
        }
        *ret_root = st.root;
        st.root = NULL;
        parse_state_done(&st);
        return 0;
}

void s3xml_free(struct s3xml_node *node)
{
        if (node == NULL)
                return;
        for (size_t i = 0; i < node->n_children; i++)
                s3xml_free(node->children[i]);
        free(node->children);
        free(node->name);
        free(node->text);
        free(node); /* the start of its struct node_impl */
}

const struct s3xml_node *s3xml_child(const struct s3xml_node *node, const char *name)
{
        return s3xml_next(node, name, NULL);
}

const char *s3xml_child_text(const struct s3xml_node *node, const char *name)
{
        const struct s3xml_node *c = s3xml_child(node, name);

        return c != NULL ? c->text : NULL;
}

const struct s3xml_node *s3xml_next(const struct s3xml_node *node, const char *name,
                                    const struct s3xml_node *prev)
{
        size_t i = 0;

        if (node == NULL || name == NULL)
                return NULL;
        if (prev != NULL) {
                const struct node_impl *impl = (const struct node_impl *)prev;

                if (impl->index >= node->n_children || node->children[impl->index] != prev)
                        return NULL; /* PREV is not a child of NODE */
                i = impl->index + 1;
        }
        for (; i < node->n_children; i++)
                if (strcmp(node->children[i]->name, name) == 0)
                        return node->children[i];
        return NULL;
}

static bool is_xml_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The child's text without surrounding whitespace, as [*ret_start, *ret_end). */
static int child_value(const struct s3xml_node *node, const char *name, const char **ret_start,
                       const char **ret_end, struct hoist_error **err)
{
        const char *s = s3xml_child_text(node, name);
        const char *e;

        if (s == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT, "<%s> in <%s> is missing", name,
                                        node != NULL ? node->name : "(none)");
        while (is_xml_space(*s))
                s++;
        e = s + strlen(s);
        while (e > s && is_xml_space(e[-1]))
                e--;
        *ret_start = s;
        *ret_end = e;
        return 0;
}

int s3xml_child_u64(const struct s3xml_node *node, const char *name, uint64_t *ret,
                    struct hoist_error **err)
{
        const char *s, *e;
        uint64_t v = 0;

        if (child_value(node, name, &s, &e, err) < 0)
                return -1;
        if (s == e)
                goto bad;
        for (const char *p = s; p < e; p++) {
                unsigned d = (unsigned char)*p - '0';

                if (d > 9 || v > (UINT64_MAX - d) / 10)
                        goto bad;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
bad:
        return hoist_error_make(err, HOIST_ERR_INPUT,
                                "<%s> in <%s>: expected an unsigned integer, got '%.64s'", name,
                                node->name, s3xml_child_text(node, name));
}

int s3xml_child_bool(const struct s3xml_node *node, const char *name, int *ret,
                     struct hoist_error **err)
{
        const char *s, *e;
        size_t n;

        if (child_value(node, name, &s, &e, err) < 0)
                return -1;
        n = (size_t)(e - s);
        if (n == 4 && memcmp(s, "true", 4) == 0) {
                *ret = 1;
                return 0;
        }
        if (n == 5 && memcmp(s, "false", 5) == 0) {
                *ret = 0;
                return 0;
        }
        return hoist_error_make(err, HOIST_ERR_INPUT,
                                "<%s> in <%s>: expected 'true' or 'false', got '%.64s'", name,
                                node->name, s3xml_child_text(node, name));
}

void s3xml_escape(struct buf *b, const char *text)
{
        const char *run;

        if (text == NULL)
                return;
        run = text;
        for (const char *p = text; *p != '\0'; p++) {
                unsigned char c = (unsigned char)*p;
                const char *rep;

                switch (c) {
                case '&':
                        rep = "&amp;";
                        break;
                case '<':
                        rep = "&lt;";
                        break;
                case '>':
                        rep = "&gt;";
                        break;
                case '"':
                        rep = "&quot;";
                        break;
                case '\'':
                        rep = "&apos;";
                        break;
                case '\r':
                        /* A parser turns a literal CR into LF; the
                         * reference keeps it. */
                        rep = "&#13;";
                        break;
                case '\t':
                case '\n':
                        continue;
                default:
                        if (c >= 0x20)
                                continue;
                        rep = ""; /* XML 1.0 cannot carry it, even as a reference */
                        break;
                }
                buf_append(b, run, (size_t)(p - run));
                buf_append_str(b, rep);
                run = p + 1;
        }
        buf_append_str(b, run);
}

void s3xml_element(struct buf *b, const char *name, const char *text)
{
        buf_printf(b, "<%s>", name);
        s3xml_escape(b, text);
        buf_printf(b, "</%s>", name);
}

int s3xml_parse_error(const struct s3xml_node *root, struct s3xml_error *ret)
{
        if (root == NULL || strcmp(root->name, "Error") != 0)
                return 0;
        *ret = (struct s3xml_error){
                .code = xstrdup(s3xml_child_text(root, "Code")),
                .message = xstrdup(s3xml_child_text(root, "Message")),
                .resource = xstrdup(s3xml_child_text(root, "Resource")),
                .request_id = xstrdup(s3xml_child_text(root, "RequestId")),
        };
        return 1;
}

void s3xml_error_clear(struct s3xml_error *e)
{
        if (e == NULL)
                return;
        free(e->code);
        free(e->message);
        free(e->resource);
        free(e->request_id);
        *e = (struct s3xml_error){0};
}
