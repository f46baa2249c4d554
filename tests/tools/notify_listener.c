/* SPDX-License-Identifier: MIT */
/*
 * notify_listener SOCKET OUT: a stand-in for systemd's notification socket.
 * Binds an AF_UNIX datagram socket at SOCKET (pass it as NOTIFY_SOCKET) and
 * appends every datagram it receives to OUT as one line, its assignments
 * joined by ';' ("READY=1;STATUS=running").  Runs until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_signal(int sig)
{
        (void)sig;
        done = 1;
}

int main(int argc, char **argv)
{
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        struct sigaction sa = {.sa_handler = on_signal};
        char buf[4096];
        FILE *out;
        int fd;

        if (argc != 3 || strlen(argv[1]) >= sizeof addr.sun_path) {
                fprintf(stderr, "usage: notify_listener SOCKET OUT\n");
                return 2;
        }
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        out = fopen(argv[2], "ae");
        if (out == NULL) {
                fprintf(stderr, "notify_listener: %s: %s\n", argv[2], strerror(errno));
                return 1;
        }
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        strcpy(addr.sun_path, argv[1]);
        (void)unlink(argv[1]);
        if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
                fprintf(stderr, "notify_listener: bind %s: %s\n", argv[1], strerror(errno));
                fclose(out);
                return 1;
        }
        while (!done) {
                ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        fprintf(stderr, "notify_listener: recv: %s\n", strerror(errno));
                        fclose(out);
                        return 1;
                }
                while (n > 0 && buf[n - 1] == '\n')
                        n--;
                for (ssize_t i = 0; i < n; i++)
                        if (buf[i] == '\n')
                                buf[i] = ';';
                buf[n] = '\0';
                fprintf(out, "%s\n", buf);
                fflush(out);
        }
        (void)unlink(argv[1]);
        fclose(out);
        return 0;
}
