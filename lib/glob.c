/* SPDX-License-Identifier: MIT */
#include "glob.h"

#include <string.h>

#include "cleanup.h"
#include "xalloc.h"

void glob_push(struct glob_tok **t, size_t *n, struct glob_tok tok)
{
        *t = xreallocarray(*t, *n + 1, sizeof **t);
        (*t)[(*n)++] = tok;
}

void glob_class_add(struct glob_tok *t, unsigned char c)
{
        t->set[c >> 3] |= (unsigned char)(1u << (c & 7));
}

int glob_class_has(const struct glob_tok *t, unsigned char c)
{
        return ((t->set[c >> 3] >> (c & 7)) & 1) != t->negated;
}

/* Adds token I's state and what it reaches without input: a star, "**"
 * and "**\/" may match nothing. */
static void closure(const struct glob_tok *t, size_t n, unsigned char *at, size_t i)
{
        for (; i <= n && !at[i]; i++) {
                at[i] = 1;
                if (i == n ||
                    (t[i].kind != GLOB_STAR && t[i].kind != GLOB_ANY && t[i].kind != GLOB_ANY_DIR))
                        break;
        }
}

/* State at[i]: before token i; mid[i]: inside a "**\/" that still needs
 * its '/'. */
int glob_match(const struct glob_tok *t, size_t n, const char *s)
{
        unsigned char small[256];
        _cleanup_free_ unsigned char *big =
                4 * (n + 1) > sizeof small ? xcalloc(4 * (n + 1), 1) : NULL;
        unsigned char *buf = big != NULL ? big : memset(small, 0, 4 * (n + 1));
        unsigned char *at = buf, *mid = buf + (n + 1);
        unsigned char *nat = buf + 2 * (n + 1), *nmid = buf + 3 * (n + 1);
        int alive = 1;

        closure(t, n, at, 0);
        for (; *s != '\0' && alive; s++) {
                char c = *s;
                memset(nat, 0, n + 1);
                memset(nmid, 0, n + 1);
                alive = 0;
                for (size_t i = 0; i < n; i++) {
                        if (mid[i] || (at[i] && t[i].kind == GLOB_ANY_DIR)) {
                                nmid[i] = 1;
                                alive = 1;
                                if (c == '/')
                                        closure(t, n, nat, i + 1);
                                continue;
                        }
                        if (!at[i])
                                continue;
                        switch (t[i].kind) {
                        case GLOB_LIT:
                                if (c == t[i].c)
                                        closure(t, n, nat, i + 1);
                                break;
                        case GLOB_ONE:
                                if (c != '/')
                                        closure(t, n, nat, i + 1);
                                break;
                        case GLOB_CLASS:
                                if (glob_class_has(&t[i], (unsigned char)c))
                                        closure(t, n, nat, i + 1);
                                break;
                        case GLOB_STAR:
                                if (c != '/')
                                        closure(t, n, nat, i);
                                break;
                        case GLOB_ANY:
                                closure(t, n, nat, i);
                                break;
                        case GLOB_ANY_DIR:
                                break;
                        }
                }
                for (size_t i = 0; i <= n && !alive; i++)
                        alive = nat[i];
                unsigned char *tmp = at;
                at = nat;
                nat = tmp;
                tmp = mid;
                mid = nmid;
                nmid = tmp;
        }
        return *s == '\0' && at[n];
}
