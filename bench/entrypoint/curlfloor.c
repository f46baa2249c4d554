/* SPDX-License-Identifier: MIT */
/*
 * curlfloor: the resident memory of the smallest program that does what an
 * S3 job's entrypoint must do at least once, one HTTP GET through this
 * machine's libcurl.  bench/entrypoint prints it under the S3 row, so the
 * entrypoint's figure can be read against what libcurl and the libraries it
 * pulls in (OpenSSL, GnuTLS through librtmp, Kerberos, LDAP, ...) cost any
 * program on their own.
 *
 *   curlfloor LABEL URL
 *       Loads libcurl as hoist-entrypoint does (dlopen, with GnuTLS's
 *       implicit initialisation off: entrypoint/lazy/curl.c), GETs URL, and
 *       prints LABEL, three "-" for the times it does not measure, and its
 *       own VmRSS, VmHWM and RssAnon in KiB, tab-separated (entrybench
 *       run's row format).  A failed GET fails the run.
 */
#define _GNU_SOURCE 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long status_kb(const char *field)
{
        char line[256];
        long kb = -1;
        size_t n = strlen(field);
        FILE *f = fopen("/proc/self/status", "r");

        if (f == NULL)
                return -1;
        while (fgets(line, sizeof(line), f) != NULL)
                if (strncmp(line, field, n) == 0 && line[n] == ':') {
                        kb = strtol(line + n + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return kb;
}

static size_t discard(char *p, size_t size, size_t n, void *u)
{
        (void)p;
        (void)u;
        return size * n;
}

int main(int argc, char **argv)
{
        void *h;
        CURLcode (*global_init)(long);
        CURL *(*easy_init)(void);
        CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
        CURLcode (*easy_perform)(CURL *);
        CURLcode rc;
        CURL *c;

        if (argc != 3) {
                fprintf(stderr, "usage: curlfloor LABEL URL\n");
                return 2;
        }
        (void)setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 0);
        h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
                fprintf(stderr, "curlfloor: %s\n", dlerror());
                return 1;
        }
        *(void **)&global_init = dlsym(h, "curl_global_init");
        *(void **)&easy_init = dlsym(h, "curl_easy_init");
        *(void **)&easy_setopt = dlsym(h, "curl_easy_setopt");
        *(void **)&easy_perform = dlsym(h, "curl_easy_perform");
        if (global_init == NULL || easy_init == NULL || easy_setopt == NULL ||
            easy_perform == NULL || global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
            (c = easy_init()) == NULL) {
                fprintf(stderr, "curlfloor: cannot set up libcurl\n");
                return 1;
        }
        (void)easy_setopt(c, CURLOPT_URL, argv[2]);
        (void)easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        rc = easy_perform(c);
        if (rc != CURLE_OK) {
                fprintf(stderr, "curlfloor: GET %s failed (curl error %d)\n", argv[2], (int)rc);
                return 1;
        }
        printf("%s\t-\t-\t-\t%ld\t%ld\t%ld\n", argv[1], status_kb("VmRSS"), status_kb("VmHWM"),
               status_kb("RssAnon"));
        return 0;
}
