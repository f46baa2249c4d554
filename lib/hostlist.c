/* SPDX-License-Identifier: MIT */
#include "hostlist.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "cleanup.h"
#include "fmt.h"
#include "xalloc.h"

/* How much of a bad list an error message quotes. */
#define HOSTLIST_QUOTE_MAX 80

struct hl_range {
        uint64_t lo, hi;
        int width;
};

/* A stretch of literal text, then (except for a token's last part) one
 * bracket of ranges. */
struct hl_part {
        size_t off, len;
        struct hl_range *r;
        size_t nr;
};

struct hl_token {
        struct hl_part *parts;
        size_t n;
};

static void hl_token_clear(struct hl_token *t)
{
        for (size_t i = 0; i < t->n; i++)
                free(t->parts[i].r);
        free(t->parts);
        t->parts = NULL;
        t->n = 0;
}

static int is_name_byte(unsigned char c)
{
        return c > 0x20 && c < 0x7f && c != ',' && c != '[' && c != ']';
}

static int is_separator(char c)
{
        return c == ',' || c == ' ' || c == '\t';
}

__attribute__((format(printf, 4, 5))) static int fail(struct hoist_error **err, const char *list,
                                                      size_t pos, const char *fmt, ...)
{
        _cleanup_free_ char *q = fmt_quote(list, strlen(list), HOSTLIST_QUOTE_MAX);
        _cleanup_free_ char *what = NULL;
        va_list ap;

        va_start(ap, fmt);
        what = xvasprintf(fmt, ap);
        va_end(ap);
        return hoist_error_make(err, HOIST_ERR_INPUT, "hostlist '%s': %s at column %zu", q, what,
                                pos + 1);
}

static int bad_byte(struct hoist_error **err, const char *list, size_t pos)
{
        unsigned char c = (unsigned char)list[pos];

        if (c >= 0x20 && c < 0x7f)
                return fail(err, list, pos, "unexpected '%c'", c);
        return fail(err, list, pos, "byte 0x%02x is not allowed in a host name", c);
}

/* Reads the digits at *POS into *RET (at most HOSTLIST_MAX_DIGITS). */
static int parse_number(const char *list, size_t *pos, uint64_t *ret, int *ret_width,
                        struct hoist_error **err)
{
        size_t start = *pos, i = start;
        uint64_t v = 0;

        while (list[i] >= '0' && list[i] <= '9') {
                if (i - start == HOSTLIST_MAX_DIGITS)
                        return fail(err, list, start, "a number has more than %d digits",
                                    HOSTLIST_MAX_DIGITS);
                v = v * 10 + (uint64_t)(list[i] - '0');
                i++;
        }
        if (i == start) {
                if (list[i] == '\0')
                        return fail(err, list, start, "'[' is not closed");
                if (list[i] == ',' || list[i] == ']' || list[i] == '-')
                        return fail(err, list, start, "a number is missing");
                return bad_byte(err, list, i);
        }
        *pos = i;
        *ret = v;
        *ret_width = (int)(i - start);
        return 0;
}

/* Parses the bracket whose '[' is at *POS into PART; *COUNT is the number of
 * values it holds. */
static int parse_bracket(const char *list, size_t *pos, struct hl_part *part, uint64_t *count,
                         struct hoist_error **err)
{
        size_t i = *pos + 1;
        uint64_t total = 0;

        for (;;) {
                struct hl_range r;
                size_t item = i;
                int hi_width;

                if (parse_number(list, &i, &r.lo, &r.width, err) < 0)
                        return -1;
                r.hi = r.lo;
                if (list[i] == '-') {
                        i++;
                        if (parse_number(list, &i, &r.hi, &hi_width, err) < 0)
                                return -1;
                        if (r.hi < r.lo)
                                return fail(err, list, item,
                                            "range '%.*s' is reversed (write LOW-HIGH)",
                                            (int)(i - item), list + item);
                }
                total += r.hi - r.lo + 1;
                if (r.hi - r.lo >= HOSTLIST_MAX_HOSTS || total > HOSTLIST_MAX_HOSTS)
                        return fail(err, list, item, "more than %d hosts", HOSTLIST_MAX_HOSTS);
                part->r = xreallocarray(part->r, part->nr + 1, sizeof *part->r);
                part->r[part->nr++] = r;
                if (list[i] == ']')
                        break;
                if (list[i] == '\0')
                        return fail(err, list, *pos, "'[' is not closed");
                if (list[i] != ',')
                        return bad_byte(err, list, i);
                i++;
        }
        *pos = i + 1;
        *count = total;
        return 0;
}

/* Parses the name at *POS (not a separator) into TOKEN, up to the next
 * separator outside brackets; *COUNT is the number of names it gives. */
static int parse_token(const char *list, size_t *pos, struct hl_token *token, uint64_t *count,
                       struct hoist_error **err)
{
        size_t i = *pos;
        uint64_t product = 1;

        for (;;) {
                struct hl_part part = {.off = i};
                uint64_t n = 0;

                while (is_name_byte((unsigned char)list[i]))
                        i++;
                part.len = i - part.off;
                token->parts = xreallocarray(token->parts, token->n + 1, sizeof *token->parts);
                token->parts[token->n++] = part;
                if (list[i] != '[')
                        break;
                if (parse_bracket(list, &i, &token->parts[token->n - 1], &n, err) < 0)
                        return -1;
                product *= n;
                if (product > HOSTLIST_MAX_HOSTS)
                        return fail(err, list, *pos, "more than %d hosts", HOSTLIST_MAX_HOSTS);
        }
        if (list[i] != '\0' && !is_separator(list[i]))
                return bad_byte(err, list, i);
        if (token->n > 1 && token->parts[token->n - 1].len > 0)
                return fail(err, list, token->parts[token->n - 1].off,
                            "text after the last ']' is not allowed (Slurm refuses it too)");
        *pos = i;
        *count = product;
        return 0;
}

/* Appends every name of TOKEN to HOSTS in Slurm's order: the last bracket
 * moves fastest, then the first, the second, and so on (Slurm expands the
 * last bracket as a range under each name the others make, and those from
 * the innermost one outwards). */
static int emit_token(const char *list, size_t pos, const struct hl_token *token, char **hosts,
                      size_t *n, struct hoist_error **err)
{
        _cleanup_free_ size_t *ri = xcalloc(token->n, sizeof *ri);
        _cleanup_free_ uint64_t *v = xcalloc(token->n, sizeof *v);
        _cleanup_free_ size_t *order = xcalloc(token->n, sizeof *order);
        _cleanup_buf_ struct buf name = {0};
        size_t k, m = 0;

        /* Every part but the last holds a bracket. */
        if (token->n > 1)
                order[m++] = token->n - 2;
        for (k = 0; k + 2 < token->n; k++)
                order[m++] = k;
        for (k = 0; k < m; k++)
                v[order[k]] = token->parts[order[k]].r[0].lo;
        for (;;) {
                buf_reset(&name);
                for (k = 0; k < token->n; k++) {
                        const struct hl_part *p = &token->parts[k];
                        buf_append(&name, list + p->off, p->len);
                        if (p->nr > 0)
                                buf_printf(&name, "%0*" PRIu64, p->r[ri[k]].width, v[k]);
                }
                if (name.len > HOSTLIST_MAX_NAME)
                        return fail(err, list, pos, "a host name is longer than %d bytes",
                                    HOSTLIST_MAX_NAME);
                hosts[(*n)++] = buf_take(&name);
                for (k = 0; k < m; k++) {
                        size_t g = order[k];
                        const struct hl_part *p = &token->parts[g];
                        if (v[g] < p->r[ri[g]].hi) {
                                v[g]++;
                                break;
                        }
                        ri[g] = ri[g] + 1 < p->nr ? ri[g] + 1 : 0;
                        v[g] = p->r[ri[g]].lo;
                        if (ri[g] != 0)
                                break;
                }
                if (k == m)
                        return 0;
        }
}

int hostlist_expand(const char *list, char ***ret_hosts, struct hoist_error **err)
{
        _cleanup_strv_ char **hosts = NULL;
        size_t n = 0, cap = 0, pos = 0;

        for (;;) {
                struct hl_token token = {0};
                uint64_t count = 0;
                size_t start;
                int r;

                while (is_separator(list[pos]))
                        pos++;
                if (list[pos] == '\0')
                        break;
                start = pos;
                r = parse_token(list, &pos, &token, &count, err);
                if (r == 0 && count > HOSTLIST_MAX_HOSTS - n)
                        r = fail(err, list, start, "more than %d hosts", HOSTLIST_MAX_HOSTS);
                if (r == 0) {
                        if (n + count + 1 > cap) {
                                cap = (n + count + 1) * 2;
                                hosts = xreallocarray(hosts, cap, sizeof *hosts);
                        }
                        r = emit_token(list, start, &token, hosts, &n, err);
                        hosts[n] = NULL;
                }
                hl_token_clear(&token);
                if (r < 0)
                        return -1;
        }
        if (n == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT, "hostlist '%s' names no host", list);
        *ret_hosts = TAKE_PTR(hosts);
        return (int)n;
}

/* ---- compression ---- */

/* NAME split into a prefix and a trailing number (HOSTLIST_MAX_DIGITS at
 * most; a name without one has digits == 0). */
struct hl_name {
        size_t prefix_len;
        int digits;
        uint64_t num;
};

static int split_name(const char *name, struct hl_name *ret, struct hoist_error **err)
{
        size_t len = strlen(name), i;

        if (len == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT, "hostlist: a host name is empty");
        if (len > HOSTLIST_MAX_NAME)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "hostlist: host name '%.40s...' is longer than %d bytes",
                                        name, HOSTLIST_MAX_NAME);
        for (i = 0; i < len; i++)
                if (!is_name_byte((unsigned char)name[i])) {
                        _cleanup_free_ char *q = fmt_quote(name, len, HOSTLIST_QUOTE_MAX);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "hostlist: host name '%s' holds a separator, a "
                                                "bracket or a byte that is not printable ASCII",
                                                q);
                }
        i = len;
        while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
                i--;
        ret->prefix_len = i;
        ret->digits = (int)(len - i);
        ret->num = 0;
        if (ret->digits > HOSTLIST_MAX_DIGITS) {
                ret->prefix_len = len;
                ret->digits = 0;
        }
        for (; i < len && ret->digits > 0; i++)
                ret->num = ret->num * 10 + (uint64_t)(name[i] - '0');
        return 0;
}

static int decimal_digits(uint64_t v)
{
        int d = 1;

        while (v >= 10) {
                v /= 10;
                d++;
        }
        return d;
}

static int same_prefix(const char *a, const struct hl_name *na, const char *b,
                       const struct hl_name *nb)
{
        return na->digits > 0 && nb->digits > 0 && na->prefix_len == nb->prefix_len &&
               memcmp(a, b, na->prefix_len) == 0;
}

/* Whether B's number follows HI in a range printed at WIDTH. */
static int extends(uint64_t hi, int width, const struct hl_name *b)
{
        int want = decimal_digits(b->num) > width ? decimal_digits(b->num) : width;

        return b->num == hi + 1 && b->digits == want;
}

char *hostlist_compress(char *const *hosts, size_t n, struct hoist_error **err)
{
        _cleanup_free_ struct hl_name *names = xcalloc(n > 0 ? n : 1, sizeof *names);
        _cleanup_buf_ struct buf out = {0};
        size_t i, j;

        for (i = 0; i < n; i++)
                if (split_name(hosts[i], &names[i], err) < 0)
                        return NULL;
        for (i = 0; i < n; i = j) {
                if (i > 0)
                        buf_append_char(&out, ',');
                j = i + 1;
                while (j < n && same_prefix(hosts[i], &names[i], hosts[j], &names[j]))
                        j++;
                if (j - i == 1) {
                        buf_append_str(&out, hosts[i]);
                        continue;
                }
                buf_append(&out, hosts[i], names[i].prefix_len);
                buf_append_char(&out, '[');
                for (size_t k = i; k < j;) {
                        uint64_t lo = names[k].num, hi = lo;
                        int width = names[k].digits;

                        for (k++; k < j && extends(hi, width, &names[k]); k++)
                                hi++;
                        if (out.data[out.len - 1] != '[')
                                buf_append_char(&out, ',');
                        buf_printf(&out, "%0*" PRIu64, width, lo);
                        if (hi != lo)
                                buf_printf(&out, "-%0*" PRIu64, width, hi);
                }
                buf_append_char(&out, ']');
        }
        return buf_take(&out);
}
