/* SPDX-License-Identifier: MIT */
/*
 * libcurl, loaded on first use.  hoist-entrypoint is linked with this file
 * ahead of -lcurl; when it defines every curl function the entrypoint calls,
 * the linker (--as-needed) leaves libcurl and its ~30 libraries (TLS, HTTP/2,
 * IDN, Kerberos, LDAP, ...) out of the start-up, which is most of the
 * entrypoint's start-up cost (bench/entrypoint).  A job on file storage, and
 * the plain init, then never load them; an S3 job loads them with its first
 * transfer.  A function not defined here still links against libcurl
 * directly, so forgetting one costs start-up time, never correctness.
 *
 * These functions carry curl's own names (STYLE.md's rule against borrowing
 * a dependency's prefix does not apply to a stand-in for that dependency);
 * they only forward.  The variadic setopt functions forward their one
 * argument by the type curl itself reads for that option number
 * (CURLOPTTYPE_* ranges, as in curl's lib/setopt.c).
 */
/* The real declarations, not typecheck-gcc.h's macros of the same names. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>

#include "log.h"

#define LIBCURL "libcurl.so.4"

static void *handle;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/*
 * Debian's libcurl does TLS with OpenSSL; GnuTLS comes in only through
 * librtmp (rtmpe://, which hoist never uses), yet GnuTLS's library
 * constructor initialises it on load: 0.7 MiB more resident for the whole
 * job (bench/entrypoint).  GNUTLS_NO_IMPLICIT_INIT, GnuTLS's documented
 * switch, skips that (librtmp initialises GnuTLS itself when it needs it).
 * It is set only around dlopen(), which main.c's curl_global_init() reaches
 * before any thread starts, so the command never inherits it; one the user
 * set is left as it is.
 */
static void load(void)
{
        bool set = getenv("GNUTLS_NO_IMPLICIT_INIT") == NULL;

        if (set)
                (void)setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 0);
        handle = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
        if (set)
                (void)unsetenv("GNUTLS_NO_IMPLICIT_INIT");
        if (handle == NULL)
                log_error("cannot load %s, needed for HTTP and S3: %s", LIBCURL, dlerror());
}

static void *sym(const char *name)
{
        void *p;

        (void)pthread_once(&once, load);
        if (handle == NULL)
                return NULL;
        p = dlsym(handle, name);
        if (p == NULL)
                log_error("%s has no %s", LIBCURL, name);
        return p;
}

/* Declares real_, the real NAME (NULL when libcurl cannot be loaded),
 * resolved on the first call. */
#define REAL(name)                                                                                 \
        static __typeof__(name) *real_slot_;                                                       \
        __typeof__(name) *real_ = __atomic_load_n(&real_slot_, __ATOMIC_ACQUIRE);                  \
        if (real_ == NULL) {                                                                       \
                *(void **)&real_ = sym(#name);                                                     \
                __atomic_store_n(&real_slot_, real_, __ATOMIC_RELEASE);                            \
        }

CURLcode curl_global_init(long flags)
{
        REAL(curl_global_init);
        return real_ ? real_(flags) : CURLE_FAILED_INIT;
}

void curl_global_cleanup(void)
{
        /* Nothing to clean up when curl was never loaded. */
        if (handle == NULL)
                return;
        REAL(curl_global_cleanup);
        if (real_)
                real_();
}

char *curl_version(void)
{
        static char none[] = "libcurl (not loaded)";
        REAL(curl_version);
        return real_ ? real_() : none;
}

CURL *curl_easy_init(void)
{
        REAL(curl_easy_init);
        return real_ ? real_() : NULL;
}

void curl_easy_cleanup(CURL *curl)
{
        REAL(curl_easy_cleanup);
        if (real_)
                real_(curl);
}

void curl_easy_reset(CURL *curl)
{
        REAL(curl_easy_reset);
        if (real_)
                real_(curl);
}

CURLcode curl_easy_perform(CURL *curl)
{
        REAL(curl_easy_perform);
        return real_ ? real_(curl) : CURLE_FAILED_INIT;
}

const char *curl_easy_strerror(CURLcode code)
{
        REAL(curl_easy_strerror);
        return real_ ? real_(code) : "libcurl could not be loaded";
}

char *curl_easy_escape(CURL *curl, const char *s, int len)
{
        REAL(curl_easy_escape);
        return real_ ? real_(curl, s, len) : NULL;
}

void curl_free(void *p)
{
        REAL(curl_free);
        if (real_)
                real_(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
        REAL(curl_slist_append);
        return real_ ? real_(list, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
        REAL(curl_slist_free_all);
        if (real_)
                real_(list);
}

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
        REAL(curl_easy_setopt);
        va_list ap;
        CURLcode r;

        if (real_ == NULL)
                return CURLE_FAILED_INIT;
        va_start(ap, option);
        if (option < CURLOPTTYPE_OBJECTPOINT)
                r = real_(curl, option, va_arg(ap, long));
        else if (option < CURLOPTTYPE_OFF_T)
                r = real_(curl, option, va_arg(ap, void *)); /* objects and functions */
        else if (option < CURLOPTTYPE_BLOB)
                r = real_(curl, option, va_arg(ap, curl_off_t));
        else
                r = real_(curl, option, va_arg(ap, void *));
        va_end(ap);
        return r;
}

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
        REAL(curl_easy_getinfo);
        va_list ap;
        CURLcode r;

        if (real_ == NULL)
                return CURLE_FAILED_INIT;
        va_start(ap, info);
        r = real_(curl, info, va_arg(ap, void *)); /* always a pointer to the result */
        va_end(ap);
        return r;
}

CURLM *curl_multi_init(void)
{
        REAL(curl_multi_init);
        return real_ ? real_() : NULL;
}

CURLMcode curl_multi_cleanup(CURLM *multi)
{
        REAL(curl_multi_cleanup);
        return real_ ? real_(multi) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_add_handle(CURLM *multi, CURL *curl)
{
        REAL(curl_multi_add_handle);
        return real_ ? real_(multi, curl) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_remove_handle(CURLM *multi, CURL *curl)
{
        REAL(curl_multi_remove_handle);
        return real_ ? real_(multi, curl) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_perform(CURLM *multi, int *running)
{
        REAL(curl_multi_perform);
        return real_ ? real_(multi, running) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_poll(CURLM *multi, struct curl_waitfd extra[], unsigned int n, int timeout_ms,
                          int *ret)
{
        REAL(curl_multi_poll);
        return real_ ? real_(multi, extra, n, timeout_ms, ret) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_wakeup(CURLM *multi)
{
        REAL(curl_multi_wakeup);
        return real_ ? real_(multi) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_wait(CURLM *multi, struct curl_waitfd extra[], unsigned int n, int timeout_ms,
                          int *ret)
{
        REAL(curl_multi_wait);
        return real_ ? real_(multi, extra, n, timeout_ms, ret) : CURLM_INTERNAL_ERROR;
}

CURLMsg *curl_multi_info_read(CURLM *multi, int *left)
{
        REAL(curl_multi_info_read);
        return real_ ? real_(multi, left) : NULL;
}

const char *curl_multi_strerror(CURLMcode code)
{
        REAL(curl_multi_strerror);
        return real_ ? real_(code) : "libcurl could not be loaded";
}

CURLMcode curl_multi_setopt(CURLM *multi, CURLMoption option, ...)
{
        REAL(curl_multi_setopt);
        va_list ap;
        CURLMcode r;

        if (real_ == NULL)
                return CURLM_INTERNAL_ERROR;
        va_start(ap, option);
        if (option < CURLOPTTYPE_OBJECTPOINT)
                r = real_(multi, option, va_arg(ap, long));
        else if (option < CURLOPTTYPE_OFF_T)
                r = real_(multi, option, va_arg(ap, void *));
        else
                r = real_(multi, option, va_arg(ap, curl_off_t));
        va_end(ap);
        return r;
}

CURLSH *curl_share_init(void)
{
        REAL(curl_share_init);
        return real_ ? real_() : NULL;
}

CURLSHcode curl_share_cleanup(CURLSH *share)
{
        REAL(curl_share_cleanup);
        return real_ ? real_(share) : CURLSHE_NOT_BUILT_IN;
}

CURLSHcode curl_share_setopt(CURLSH *share, CURLSHoption option, ...)
{
        REAL(curl_share_setopt);
        va_list ap;
        CURLSHcode r;

        if (real_ == NULL)
                return CURLSHE_NOT_BUILT_IN;
        va_start(ap, option);
        /* SHARE and UNSHARE take an int (curl_lock_data); the rest pointers. */
        if (option == CURLSHOPT_SHARE || option == CURLSHOPT_UNSHARE)
                r = real_(share, option, va_arg(ap, int));
        else
                r = real_(share, option, va_arg(ap, void *));
        va_end(ap);
        return r;
}

const char *curl_share_strerror(CURLSHcode code)
{
        REAL(curl_share_strerror);
        return real_ ? real_(code) : "libcurl could not be loaded";
}

CURLU *curl_url(void)
{
        REAL(curl_url);
        return real_ ? real_() : NULL;
}

void curl_url_cleanup(CURLU *u)
{
        REAL(curl_url_cleanup);
        if (real_)
                real_(u);
}

CURLU *curl_url_dup(CURLU *u)
{
        REAL(curl_url_dup);
        return real_ ? real_(u) : NULL;
}

CURLUcode curl_url_get(CURLU *u, CURLUPart part, char **ret, unsigned int flags)
{
        REAL(curl_url_get);
        return real_ ? real_(u, part, ret, flags) : CURLUE_OUT_OF_MEMORY;
}

CURLUcode curl_url_set(CURLU *u, CURLUPart part, const char *s, unsigned int flags)
{
        REAL(curl_url_set);
        return real_ ? real_(u, part, s, flags) : CURLUE_OUT_OF_MEMORY;
}
