/* SPDX-License-Identifier: MIT */
#include <curl/curl.h>

#include "s3_http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"

#define FETCH_MAX_BODY (1u << 20)

const char *s3_http_ca_bundle(void)
{
        static const char *const vars[] = {"AWS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"};

        for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
                const char *v = getenv(vars[i]);
                if (v != NULL && *v != '\0')
                        return v;
        }
        return NULL;
}

bool s3_http_is_https(const char *url)
{
        return url != NULL && strncasecmp(url, "https://", 8) == 0;
}

void s3_http_setup(CURL *h, const char *url, char *errbuf)
{
        errbuf[0] = '\0';
        (void)curl_easy_setopt(h, CURLOPT_URL, url);
        (void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, S3_HTTP_CONNECT_TIMEOUT_S);
        (void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, S3_HTTP_LOW_SPEED_LIMIT);
        (void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, S3_HTTP_LOW_SPEED_TIME_S);
        (void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        /* The CA bundle only means something to TLS; the environment may set
         * it for a plain-http endpoint too, where it must change nothing. */
        if (s3_http_is_https(url)) {
                const char *ca = s3_http_ca_bundle();
                if (ca != NULL)
                        (void)curl_easy_setopt(h, CURLOPT_CAINFO, ca);
        }
}

int s3_http_error(struct hoist_error **err, CURLcode rc, const char *errbuf, const char *what)
{
        const char *msg = errbuf != NULL && errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
        size_t n = strlen(msg);

        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
                n--;
        return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: %.*s", what, (int)n, msg);
}

static size_t fetch_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct buf *b = userdata;
        size_t n = size * nmemb;

        if (b->len + n > FETCH_MAX_BODY)
                return 0;
        buf_append(b, ptr, n);
        return n;
}

int s3_http_fetch(const char *method, const char *url, const struct curl_slist *headers,
                  const char *body, long timeout_s, const char *what, struct buf *ret_body,
                  long *ret_status, struct hoist_error **err)
{
        _cleanup_curl_ CURL *h = curl_easy_init();
        char errbuf[CURL_ERROR_SIZE];
        _cleanup_buf_ struct buf out = {0};
        long status = 0;
        CURLcode rc;

        if (h == NULL)
                return hoist_error_make(err, HOIST_ERR_PROVIDER, "%s: cannot start libcurl", what);
        s3_http_setup(h, url, errbuf);
        (void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        (void)curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
        (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT,
                               timeout_s < S3_HTTP_CONNECT_TIMEOUT_S ? timeout_s
                                                                     : S3_HTTP_CONNECT_TIMEOUT_S);
        (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write);
        (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
        if (body != NULL) {
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        } else if (strcmp(method, "PUT") == 0) {
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
                (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
        }
        rc = curl_easy_perform(h);
        if (rc != CURLE_OK)
                return s3_http_error(err, rc, errbuf, what);
        (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        buf_append(&out, "", 0);
        *ret_status = status;
        *ret_body = out;
        out = (struct buf){0};
        return 0;
}
