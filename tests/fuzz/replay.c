/* SPDX-License-Identifier: MIT */
/*
 * main() for a fuzz target built without libFuzzer: feeds every file of the
 * directories (or files) named on the command line to LLVMFuzzerTestOneInput,
 * so CI replays the corpus under the normal or the sanitizer build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef HOIST_LIBFUZZER
static int replay_file(const char *path)
{
        struct hoist_error *err = NULL;
        char *data = NULL;
        size_t len = 0;

        if (fs_read_file(path, &data, &len, &err) < 0) {
                fprintf(stderr, "replay: %s\n", err->msg);
                hoist_error_free(err);
                return -1;
        }
        (void)LLVMFuzzerTestOneInput((const uint8_t *)data, len);
        free(data);
        return 0;
}

int main(int argc, char **argv)
{
        int n = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (replay_file(argv[i]) < 0)
                                return 1;
                        n++;
                        continue;
                }
                struct dirent **names;
                int count = scandir(argv[i], &names, NULL, alphasort);
                if (count < 0) {
                        perror(argv[i]);
                        return 1;
                }
                for (int j = 0; j < count; j++) {
                        if (names[j]->d_name[0] != '.') {
                                char *p = path_join(argv[i], names[j]->d_name);
                                int r = replay_file(p);
                                free(p);
                                if (r < 0)
                                        return 1;
                                n++;
                        }
                        free(names[j]);
                }
                free(names);
        }
        printf("replayed %d inputs\n", n);
        return 0;
}
#endif
