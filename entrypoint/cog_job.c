/* SPDX-License-Identifier: MIT */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cog_job.h"
#include "cog_request.h"
#include "cogschema.h"
#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "storage.h"
#include "xalloc.h"

char *cog_job_value_text(const json_t *v)
{
        char buf[64];

        switch (json_typeof(v)) {
        case JSON_STRING:
                return xstrdup(json_string_value(v));
        case JSON_INTEGER:
                return xasprintf("%lld", (long long)json_integer_value(v));
        case JSON_TRUE:
                return xstrdup("true");
        case JSON_FALSE:
                return xstrdup("false");
        case JSON_REAL:
                /* The shortest text that reads back exactly, as jobspec.c
                 * writes reals; whole numbers keep a ".0". */
                for (int prec = 1; prec <= 17; prec++) {
                        (void)snprintf(buf, sizeof buf, "%.*g", prec, json_real_value(v));
                        if (strtod(buf, NULL) == json_real_value(v))
                                break;
                }
                if (strspn(buf, "-0123456789") == strlen(buf))
                        return xasprintf("%s.0", buf);
                return xstrdup(buf);
        default:
                return NULL;
        }
}

char *cog_job_weights_url(const struct jobspec *spec)
{
        const struct jobspec_storage *s = &spec->storage;
        _cleanup_free_ char *out = job_prefix(spec, spec->output_prefix, "output");
        _cleanup_free_ char *base = NULL;
        size_t n;

        if (strncmp(s->endpoint, "file://", 7) == 0) {
                base = xstrdup(s->endpoint);
                n = strlen(base);
                while (n > 8 && base[n - 1] == '/')
                        base[--n] = '\0';
        } else {
                base = xasprintf("s3://%s", s->bucket ? s->bucket : "");
        }
        if (s->prefix != NULL && *s->prefix != '\0') {
                char *b = xasprintf("%s/%s", base, s->prefix);
                free(base);
                base = b;
                n = strlen(base);
                while (n > 0 && base[n - 1] == '/')
                        base[--n] = '\0';
        }
        return xasprintf("%s/%s/", base, out);
}

static size_t write_file(char *data, size_t size, size_t n, void *userdata)
{
        return fwrite(data, size, n, userdata);
}

static int fetch_http(const char *url, const char *dst, struct hoist_error **err)
{
        char errbuf[CURL_ERROR_SIZE] = "";
        CURL *c = curl_easy_init();
        CURLcode rc;
        long status = 0;
        FILE *f;
        int bad_write;

        if (c == NULL)
                return hoist_error_make(err, ENOMEM, "curl_easy_init");
        f = fopen(dst, "wex");
        if (f == NULL) {
                curl_easy_cleanup(c);
                return hoist_error_errno(err, "create '%s'", dst);
        }
        (void)curl_easy_setopt(c, CURLOPT_URL, url);
        (void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        (void)curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
        (void)curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        (void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_file);
        (void)curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
        (void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        (void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
        (void)curl_easy_setopt(c, CURLOPT_USERAGENT, "hoist-entrypoint/" HOIST_VERSION);
        rc = curl_easy_perform(c);
        if (rc == CURLE_OK)
                (void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        bad_write = fflush(f) != 0 || ferror(f);
        bad_write |= fclose(f) != 0;
        if (rc != CURLE_OK)
                return hoist_error_make(err, HOIST_ERR_INPUT, "GET: %s",
                                        errbuf[0] ? errbuf : curl_easy_strerror(rc));
        if (status != 200)
                return hoist_error_make(err, HOIST_ERR_INPUT, "GET: HTTP %ld", status);
        if (bad_write)
                return hoist_error_errno(err, "write '%s'", dst);
        return 0;
}

/* s3://bucket/key at the job's own endpoint, with the job's credentials. */
static int fetch_s3(const struct jobspec *spec, const char *url, const char *dst,
                    struct hoist_error **err)
{
        const char *rest = url + 5, *slash = strchr(rest, '/');
        _cleanup_free_ char *bucket = NULL;
        _cleanup_storage_ struct storage *st = NULL;
        struct jobspec other = *spec;

        if (slash == NULL || slash == rest || slash[1] == '\0')
                return hoist_error_make(err, HOIST_ERR_INPUT, "expected s3://bucket/key");
        if (strncmp(spec->storage.endpoint, "file://", 7) == 0)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "an s3:// URL needs a job whose storage is S3");
        bucket = xstrndup(rest, (size_t)(slash - rest));
        other.storage.bucket = bucket;
        other.storage.prefix = NULL;
        if (job_open_storage(&other, &st, err) < 0 || storage_get_file(st, slash + 1, dst, err) < 0)
                return -1;
        return 0;
}

static int apply_input_url(struct jobspec *spec, const char *channel, const char *url,
                           const char *dir, struct hoist_error **err)
{
        struct jobspec_input *in = NULL;
        _cleanup_free_ char *dst = NULL;
        int r;

        for (size_t i = 0; i < spec->n_inputs; i++)
                if (strcmp(spec->inputs[i].channel, channel) == 0)
                        in = &spec->inputs[i];
        if (in == NULL)
                return hoist_error_make(err, HOIST_ERR_INPUT,
                                        "input 'input_%s': job '%s' has no input channel '%s'",
                                        channel, spec->id, channel);
        if (strncmp(url, "file:///", 8) == 0) {
                free(in->source);
                in->source = xstrdup(url);
                return 0;
        }
        _cleanup_free_ char *shown = cog_url_for_log(url);
        dst = xasprintf("%s/input-%s", dir, channel);
        log_info("input channel '%s': fetching from %s", channel, shown);
        r = strncmp(url, "s3://", 5) == 0 ? fetch_s3(spec, url, dst, err)
                                          : fetch_http(url, dst, err);
        if (r < 0) {
                (void)unlink(dst);
                return hoist_error_wrap(err, "input 'input_%s' '%s'", channel, shown);
        }
        free(in->source);
        in->source = xasprintf("file://%s", dst);
        return 0;
}

static int apply_hyperparameter(struct jobspec *spec, const char *name, const json_t *v,
                                struct hoist_error **err)
{
        char *text = cog_job_value_text(v);

        for (size_t i = 0; i < spec->n_hyperparameters; i++)
                if (strcmp(spec->hyperparameters[i].key, name) == 0) {
                        if (text == NULL)
                                break;
                        free(spec->hyperparameters[i].value);
                        spec->hyperparameters[i].value = text;
                        return 0;
                }
        free(text);
        return hoist_error_make(err, HOIST_ERR_INPUT,
                                "input '%.64s' is not a hyperparameter of job '%s' (job.json "
                                "names the ones a training may set; see /openapi.json)",
                                name, spec->id);
}

static int write_result(const struct jobspec *spec, const char *path, struct hoist_error **err)
{
        _cleanup_free_ char *weights = cog_job_weights_url(spec);
        json_auto_t *out = json_pack("{s:s, s:s}", "job_id", spec->id, "weights", weights);
        _cleanup_free_ char *text = json_dumps(out, JSON_COMPACT);

        return fs_write_file_atomic(path, text, strlen(text), 0600, err);
}

int cog_job_apply(struct jobspec *spec, struct hoist_error **err)
{
        const char *path = getenv("HOIST_COG_INPUT"), *result = getenv("HOIST_COG_RESULT");
        _cleanup_free_ char *dir = NULL;
        json_error_t jerr;
        json_auto_t *input = NULL;
        const char *k;
        json_t *v;
        size_t plen = strlen(COG_INPUT_CHANNEL_PREFIX);

        if (path == NULL || *path == '\0')
                return 0;
        input = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(input))
                return hoist_error_make(err, HOIST_ERR_INPUT, "HOIST_COG_INPUT '%s': %s", path,
                                        input == NULL ? jerr.text : "not a JSON object");
        dir = xstrdup(path);
        if (strrchr(dir, '/') != NULL)
                *strrchr(dir, '/') = '\0';
        json_object_foreach(input, k, v)
        {
                int r = strncmp(k, COG_INPUT_CHANNEL_PREFIX, plen) == 0 && json_is_string(v)
                                ? apply_input_url(spec, k + plen, json_string_value(v), dir, err)
                                : apply_hyperparameter(spec, k, v, err);
                if (r < 0)
                        return hoist_error_wrap(err, "Cog training");
        }
        if (result != NULL && *result != '\0' && write_result(spec, result, err) < 0)
                return hoist_error_wrap(err, "Cog training");
        return 0;
}

int cog_job_fetch_spec(struct hoist_error **err)
{
        const char *input = getenv("HOIST_COG_INPUT"), *url = getenv("HOIST_JOB_URL");
        _cleanup_free_ char *dst = NULL;

        if (input == NULL || *input == '\0' || url == NULL ||
            (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
                return 0;
        dst = xstrdup(input);
        if (strrchr(dst, '/') != NULL)
                strcpy(strrchr(dst, '/') + 1, "job.json");
        if (fetch_http(url, dst, err) < 0) {
                _cleanup_free_ char *shown = cog_url_for_log(url);
                (void)unlink(dst);
                return hoist_error_wrap(err, "hoist_job_url '%s'", shown);
        }
        if (setenv("HOIST_JOB_FILE", dst, 1) < 0 || unsetenv("HOIST_JOB_URL") < 0)
                abort();
        return 0;
}
