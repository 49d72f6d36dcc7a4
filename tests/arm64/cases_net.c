/*
 * cases_net.c: the arm64 driver's network cases: the virtio-net guest (tests/guests/net, built
 * for aarch64 as net_echo) on a TAP the case creates in the emulated machine ("tap0" at
 * 10.0.5.1/24, persistent, so chyve attaches to it as to any TAP). The cases send UDP to the
 * guest's echo port, check its ping of the host and its exit on request; a hostile run attacks
 * the device and must still get its pings answered. Without /dev/net/tun (no tun module) they
 * skip, saying why.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#define TAP "tap0"
#define HOST_IP "10.0.5.1"
#define GUEST_IP "10.0.5.3"
#define ECHO_PORT 9975
#define READY_S 120 /* boot to "net: ready" under the emulated CPU */
#define REPLY_S 20

/* A chyve running in the background with stdout and stderr in files under /tmp. */
struct bg {
    pid_t pid;
    int status; /* once reaped: exit status, or -1 if killed by a signal */
    char out[64], err[64];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The whole file at path, NUL-terminated (malloc'd; "" if it cannot be read). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    cr_assert_not_null(m);
    for (int c; f && (c = fgetc(f)) != EOF;)
        fputc(c, m);
    fclose(m);
    if (f)
        fclose(f);
    return buf;
}

/* Kills the run if it is still going, and fails the test with what it printed and why. */
static void bg_fail(struct bg *b, const char *why)
{
    if (b->pid > 0) {
        kill(b->pid, SIGKILL);
        waitpid(b->pid, NULL, 0);
        b->pid = 0;
    }
    char *out = slurp(b->out), *err = slurp(b->err);
    cr_assert_fail("%s\n--- stdout:\n%s--- stderr:\n%s", why, out, err);
}

/* Creates the TAP (persistent) and gives it HOST_IP/24, up; skips without /dev/net/tun. */
static void tap_ready(void)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        cr_skip_test("cannot open /dev/net/tun: %s (is the tun module loaded? init says)",
                     strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    cr_assert(ioctl(fd, TUNSETIFF, &ifr) == 0, "TUNSETIFF %s: %s", TAP, strerror(errno));
    cr_assert(ioctl(fd, TUNSETPERSIST, 1) == 0, "TUNSETPERSIST: %s", strerror(errno));
    close(fd); /* the device stays, without a queue, until chyve attaches to it */

    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert(s >= 0, "socket: %s", strerror(errno));
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP);
    struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
    a->sin_family = AF_INET;
    inet_pton(AF_INET, HOST_IP, &a->sin_addr);
    cr_assert(ioctl(s, SIOCSIFADDR, &ifr) == 0, "SIOCSIFADDR: %s", strerror(errno));
    inet_pton(AF_INET, "255.255.255.0", &a->sin_addr);
    cr_assert(ioctl(s, SIOCSIFNETMASK, &ifr) == 0, "SIOCSIFNETMASK: %s", strerror(errno));
    cr_assert(ioctl(s, SIOCGIFFLAGS, &ifr) == 0, "SIOCGIFFLAGS: %s", strerror(errno));
    ifr.ifr_flags |= IFF_UP;
    cr_assert(ioctl(s, SIOCSIFFLAGS, &ifr) == 0, "SIOCSIFFLAGS: %s", strerror(errno));
    close(s);
}

/* Starts chyve --net tap:TAP net_echo -- -- app_args... and waits for the guest's ready line. */
static void bg_start(struct bg *b, const char *const *app_args)
{
    static int seq;
    snprintf(b->out, sizeof(b->out), "/tmp/net-%d-%d.out", (int)getpid(), seq);
    snprintf(b->err, sizeof(b->err), "/tmp/net-%d-%d.err", (int)getpid(), seq++);
    const char *argv[32] = {chyve_path(), "--net", "tap:" TAP, guest_path("net_echo"), "--", "--"};
    int n = 6;
    for (; *app_args && n < 31; app_args++)
        argv[n++] = *app_args;
    argv[n] = NULL;
    b->status = -1;
    b->pid = fork();
    cr_assert(b->pid >= 0, "fork: %s", strerror(errno));
    if (b->pid == 0) {
        int o = open(b->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(b->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int in = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
        /* execve() does not modify the strings (POSIX); its char *const[] is historical. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
        execve(argv[0], (char *const *)argv, (char *const *)env);
#pragma GCC diagnostic pop
        _exit(127);
    }
}

/* Waits until stdout holds needle; false if chyve ended first or after timeout_s. */
static bool bg_wait_for(struct bg *b, const char *needle, double timeout_s)
{
    double end = now_s() + timeout_s;
    while (now_s() < end) {
        char *out = slurp(b->out);
        bool found = strstr(out, needle) != NULL;
        free(out);
        if (found)
            return true;
        int st;
        if (b->pid > 0 && waitpid(b->pid, &st, WNOHANG) == b->pid) {
            b->pid = 0;
            b->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            out = slurp(b->out); /* it may have printed the line just before ending */
            found = strstr(out, needle) != NULL;
            free(out);
            return found;
        }
        usleep(100000);
    }
    return false;
}

/* Waits (bounded) for chyve to end; its status, or -1 after a timeout (then it is killed). */
static int bg_reap(struct bg *b, double timeout_s)
{
    double end = now_s() + timeout_s;
    while (b->pid > 0 && now_s() < end) {
        int st;
        if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
            b->pid = 0;
            b->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            break;
        }
        usleep(100000);
    }
    return b->pid > 0 ? -1 : b->status;
}

/* One datagram to the guest's echo port; whether the same bytes came back in time. */
static bool udp_echo(int s, const struct sockaddr_in *to, const uint8_t *msg, size_t len)
{
    if (sendto(s, msg, len, 0, (const struct sockaddr *)to, sizeof(*to)) != (ssize_t)len)
        return false;
    static uint8_t got[2048];
    double end = now_s() + REPLY_S;
    while (now_s() < end) {
        ssize_t n = recv(s, got, sizeof(got), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n < 0)
            return false;
        if ((size_t)n == len && memcmp(got, msg, len) == 0)
            return true; /* a stale reply of another size would be skipped */
    }
    return false;
}

Test(net, udp_echo_ping_exit)
{
    require_kvm();
    tap_ready();
    struct bg b;
    bg_start(&b, (const char *[]){"ping", HOST_IP, "3", NULL});
    if (!bg_wait_for(&b, "net: ready", READY_S))
        bg_fail(&b, "the guest did not print 'net: ready'");

    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert(s >= 0, "socket: %s", strerror(errno));
    struct timeval tv = {.tv_sec = 1};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(ECHO_PORT)};
    inet_pton(AF_INET, GUEST_IP, &to.sin_addr);
    static const size_t sizes[] = {1, 17, 64, 512, 1000, 1472};
    static uint8_t msg[1472];
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (size_t j = 0; j < sizes[i]; j++)
            msg[j] = (uint8_t)(i * 31 + j * 7);
        if (!udp_echo(s, &to, msg, sizes[i])) {
            char why[96];
            snprintf(why, sizeof(why), "no exact UDP echo of %zu bytes within %d s", sizes[i],
                     REPLY_S);
            bg_fail(&b, why);
        }
    }
    if (!bg_wait_for(&b, "net: ping " HOST_IP " sent 3 received 3\n", 60))
        bg_fail(&b, "no 'net: ping " HOST_IP " sent 3 received 3'");
    sleep(1); /* idle: only the guest's 20 ms timer wakes it */
    static const char bye[] = "exit 7";
    sendto(s, bye, strlen(bye), 0, (const struct sockaddr *)&to, sizeof(to));
    close(s);
    int status = bg_reap(&b, 60);
    if (status != 7) {
        char why[64];
        snprintf(why, sizeof(why), "chyve exited with %d, not 7", status);
        bg_fail(&b, why);
    }
    char *out = slurp(b.out);
    const char *line = strstr(out, "net: exit 7 irqs ");
    unsigned long irqs = 0;
    if (!line || sscanf(line, "net: exit 7 irqs %lu ", &irqs) != 1 || irqs == 0)
        bg_fail(&b, "no 'net: exit 7 irqs N' with N > 0 (receive must be interrupt-driven)");
    const char *stats = strstr(out, "net: stats timer ");
    unsigned long ticks = 0;
    if (!stats || sscanf(stats, "net: stats timer %lu ", &ticks) != 1 || ticks < 10)
        bg_fail(&b, "fewer than 10 timer interrupts in over a second of idling");
    cr_log_info("%.*s", (int)strcspn(stats, "\n"), stats);
    cr_log_info("%.*s", (int)strcspn(line, "\n"), line);
    free(out);
    unlink(b.out);
    unlink(b.err);
}

Test(net, hostile_survives)
{
    require_kvm();
    tap_ready();
    struct bg b;
    bg_start(&b, (const char *[]){"hostile", NULL});
    int status = bg_reap(&b, 250);
    if (status != 0) {
        char why[64];
        snprintf(why, sizeof(why), "chyve exited with %d, not 0", status);
        bg_fail(&b, why);
    }
    char *out = slurp(b.out);
    if (!strstr(out, "net: hostile survived\n"))
        bg_fail(&b, "no 'net: hostile survived'");
    free(out);
    unlink(b.out);
    unlink(b.err);
}
