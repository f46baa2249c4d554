/* SPDX-License-Identifier: MIT */
#include "runner/serve/apitoken.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "cleanup.h"
#include "fsutil.h"
#include "xalloc.h"

static bool token_valid(const char *t, size_t len)
{
        if (len != APITOKEN_LEN)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
                        return false;
        return true;
}

static int make_token(char ret[APITOKEN_LEN + 1], struct hoist_error **err)
{
        static const char hex[] = "0123456789abcdef";
        unsigned char rnd[APITOKEN_LEN / 2];
        size_t got = 0;

        while (got < sizeof rnd) {
                ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return hoist_error_errno(err, "API token: getrandom");
                }
                got += (size_t)r;
        }
        for (size_t i = 0; i < sizeof rnd; i++) {
                ret[2 * i] = hex[rnd[i] >> 4];
                ret[2 * i + 1] = hex[rnd[i] & 0xf];
        }
        ret[APITOKEN_LEN] = '\0';
        explicit_bzero(rnd, sizeof rnd);
        return 0;
}

int apitoken_load(const char *serve_dir, char **ret_token, struct hoist_error **err)
{
        _cleanup_free_ char *path = path_join(serve_dir, APITOKEN_FILE);
        char *text = NULL;
        char fresh[APITOKEN_LEN + 1];
        size_t len = 0;

        if (fs_exists(path)) {
                if (fs_read_file(path, &text, &len, err) < 0)
                        return hoist_error_wrap(err, "API token");
                while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
                        text[--len] = '\0';
                if (!token_valid(text, len)) {
                        explicit_bzero(text, len);
                        free(text);
                        return hoist_error_make(err, HOIST_ERR_INPUT,
                                                "API token '%s' is not %d hex digits; delete it "
                                                "and hoist serve makes a new one",
                                                path, APITOKEN_LEN);
                }
                *ret_token = text;
                return 0;
        }
        if (fs_mkdir_p(serve_dir, 0700, err) < 0 || make_token(fresh, err) < 0)
                return -1;
        if (fs_write_file_atomic(path, fresh, APITOKEN_LEN, 0600, err) < 0) {
                explicit_bzero(fresh, sizeof fresh);
                return hoist_error_wrap(err, "API token");
        }
        *ret_token = xstrdup(fresh);
        explicit_bzero(fresh, sizeof fresh);
        return 0;
}

bool apitoken_check(const char *token, const char *authorization)
{
        const char *given;
        size_t len;

        if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
                return false;
        given = authorization + 7;
        while (*given == ' ')
                given++;
        len = strlen(given);
        while (len > 0 && given[len - 1] == ' ')
                len--;
        /* The length is no secret (always APITOKEN_LEN); the bytes are. */
        if (len != APITOKEN_LEN || strlen(token) != APITOKEN_LEN)
                return false;
        return CRYPTO_memcmp(given, token, APITOKEN_LEN) == 0;
}
