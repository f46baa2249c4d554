/* SPDX-License-Identifier: MIT */
#ifndef HOIST_CLEANUP_H
#define HOIST_CLEANUP_H

/*
 * Scope-bound cleanup (systemd, crun).  Declare `_cleanup_free_ char *p = NULL;`
 * and p is freed when it leaves scope; hand it on with TAKE_PTR(p).
 * Every destructor here accepts NULL (or -1 for fds).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
        free(*(void **)p);
}

static inline void cleanup_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                (void)close(*fd);
                errno = saved;
        }
}

static inline void cleanup_fclosep(FILE **f)
{
        if (*f != NULL)
                (void)fclose(*f);
}

/* Frees a NULL-terminated array of strings and the array. */
static inline void strv_free(char **v)
{
        if (v == NULL)
                return;
        for (char **p = v; *p != NULL; p++)
                free(*p);
        free(v);
}

static inline void cleanup_strvp(char ***v)
{
        strv_free(*v);
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))
#define _cleanup_strv_ __attribute__((cleanup(cleanup_strvp)))

/* Makes `_cleanup_NAME_` for a pointer type T freed by FUNC(T). */
#define DEFINE_CLEANUP(name, type, func)                                                           \
        static inline void cleanup_##name##p(type *p)                                              \
        {                                                                                          \
                if (*p != NULL)                                                                    \
                        func(*p);                                                                  \
        }

#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _taken = (p);                                                        \
                (p) = NULL;                                                                        \
                _taken;                                                                            \
        })

#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int _taken = (fd);                                                                 \
                (fd) = -1;                                                                         \
                _taken;                                                                            \
        })

/* Typed helpers for the dependencies' handles, available where the
 * dependency's header was included before this one. */
#ifdef CURLINC_CURL_H
DEFINE_CLEANUP(curl, CURL *, curl_easy_cleanup)
DEFINE_CLEANUP(curl_slist, struct curl_slist *, curl_slist_free_all)
#define _cleanup_curl_ __attribute__((cleanup(cleanup_curlp)))
#define _cleanup_curl_slist_ __attribute__((cleanup(cleanup_curl_slistp)))
#endif

#ifdef ARCHIVE_H_INCLUDED
DEFINE_CLEANUP(archive_read, struct archive *, archive_read_free)
DEFINE_CLEANUP(archive_write, struct archive *, archive_write_free)
#define _cleanup_archive_read_ __attribute__((cleanup(cleanup_archive_readp)))
#define _cleanup_archive_write_ __attribute__((cleanup(cleanup_archive_writep)))
#endif

#ifdef OPENSSL_EVP_H
DEFINE_CLEANUP(evp_md_ctx, EVP_MD_CTX *, EVP_MD_CTX_free)
#define _cleanup_evp_md_ctx_ __attribute__((cleanup(cleanup_evp_md_ctxp)))
#endif

#ifdef SQLITE3_H
DEFINE_CLEANUP(sqlite_stmt, sqlite3_stmt *, sqlite3_finalize)
#define _cleanup_sqlite_stmt_ __attribute__((cleanup(cleanup_sqlite_stmtp)))
#endif

#ifdef YAML_H
static inline void cleanup_yaml_parserp(yaml_parser_t *p)
{
        yaml_parser_delete(p);
}
#define _cleanup_yaml_parser_ __attribute__((cleanup(cleanup_yaml_parserp)))
static inline void cleanup_yaml_eventp(yaml_event_t *e)
{
        yaml_event_delete(e);
}
#define _cleanup_yaml_event_ __attribute__((cleanup(cleanup_yaml_eventp)))
#endif

#endif
