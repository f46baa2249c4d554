/* SPDX-License-Identifier: MIT */
#include <archive.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "runner/cli/cli.h"

int cmd_version(int argc, char **argv, struct hoist_error **err)
{
        if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
                puts("usage: hoist version\n\nPrints hoist's version and its libraries'.");
                return EXIT_OK;
        }
        if (argc > 1)
                return cli_usage_error(err, "version", "unexpected argument '%s'", argv[1]);
        printf("hoist %s (%s)\n", HOIST_VERSION, HOIST_GIT_REV);
        printf("  %s\n", curl_version());
        printf("  jansson %s, libyaml %s, %s, sqlite %s, %s\n", jansson_version_str(),
               yaml_get_version_string(), archive_version_string(), sqlite3_libversion(),
               OpenSSL_version(OPENSSL_VERSION));
        return EXIT_OK;
}
