/*
 * gdb_agent.c: the driver of the arm64_gdb test inside the emulated arm64 machine: loads the
 * virtio network modules, brings up lo and eth0 (qemu's user network, 10.0.2.15), then serves
 * the host's gdb suite (tests/gdb, aarch64 mode) on two TCP ports that qemu forwards:
 *  - CONTROL_PORT: one line-based session at a time that starts chyve (argv and environment given
 *    by the host), reports whether it still runs and how it ended, returns its stdout/stderr and
 *    kills it;
 *  - RELAY_PORT: each connection is relayed to 127.0.0.1:PORT, the port of the chyve last
 *    started (the stub listens on the loopback only).
 * Usage: gdb_agent [SECONDS] (default 600): after that long everything is killed and the agent
 * exits 124. Exit: the status the host sends with "quit N", 1 when the control connection ends
 * without it.
 *
 * Control requests (one per line, answered by one line, "data" by a length and that many bytes):
 *   arg WORD          adds WORD to chyve's argv (after /chyve)      -> ok
 *   env NAME=VALUE    adds to chyve's environment                   -> ok
 *   start PORT        runs chyve (argv/env then cleared)             -> ok | err TEXT
 *   poll              -> running | exit N | signal N | none
 *   out | err         chyve's stdout / stderr so far                 -> data LEN\nBYTES
 *   kill              SIGKILL chyve's session and reap it            -> ok
 *   quit N            -> bye, then the agent exits N
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONTROL_PORT 5000
#define RELAY_PORT 5001
#define NET_MODULES_DIR "/lib/gdb-net"
#define CHYVE "/chyve"
#define OUT_FILE "/tmp/gdb-chyve.out"
#define ERR_FILE "/tmp/gdb-chyve.err"
#define MAX_WORDS 64
#define LINE_MAX_LEN 1024
#define RELAY_IDLE_MS 300000

static char *words[MAX_WORDS + 2];
static char *envs[MAX_WORDS + 1];
static int n_words, n_envs;
static pid_t chyve_pid = -1;
static int chyve_status = -1; /* waitpid status once reaped */
static int relay_target = -1;

/* Loads the modules in NET_MODULES_DIR, retrying while any more loads (no dependency list). */
static void load_net_modules(void)
{
    for (int round = 0; round < 8; round++) {
        int loaded = 0, failed = 0;
        DIR *d = opendir(NET_MODULES_DIR);
        if (!d)
            return;
        for (struct dirent *e; (e = readdir(d));) {
            if (!strstr(e->d_name, ".ko"))
                continue;
            char path[300];
            snprintf(path, sizeof(path), "%s/%s", NET_MODULES_DIR, e->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            if (syscall(SYS_finit_module, fd, "", 0) == 0) {
                loaded++;
                unlink(path);
            } else if (errno == EEXIST) {
                unlink(path);
            } else {
                failed++;
            }
            close(fd);
        }
        closedir(d);
        if (!failed)
            return;
        if (!loaded) {
            printf("gdb_agent: %d network modules do not load\n", failed);
            return;
        }
    }
}

/* Brings interface name up, with addr/24 unless addr is NULL. Returns 0 or -1 (said why). */
static int if_up(const char *name, const char *addr)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    int rc = -1;
    if (s < 0)
        goto out;
    if (addr) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
        a->sin_family = AF_INET;
        inet_pton(AF_INET, addr, &a->sin_addr);
        if (ioctl(s, SIOCSIFADDR, &ifr) != 0)
            goto out;
        inet_pton(AF_INET, "255.255.255.0", &a->sin_addr);
        if (ioctl(s, SIOCSIFNETMASK, &ifr) != 0)
            goto out;
    }
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
        goto out;
    ifr.ifr_flags |= IFF_UP;
    rc = ioctl(s, SIOCSIFFLAGS, &ifr);
out:
    if (rc != 0)
        printf("gdb_agent: cannot bring up %s: %s\n", name, strerror(errno));
    if (s >= 0)
        close(s);
    return rc;
}

/* A listening TCP socket on 0.0.0.0:port, or -1. */
static int listen_on(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (s < 0)
        return -1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 4) != 0) {
        printf("gdb_agent: cannot listen on %d: %s\n", port, strerror(errno));
        close(s);
        return -1;
    }
    return s;
}

/* Writes all of buf to fd; returns 0 or -1. */
static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* In a child: copies between the client c and 127.0.0.1:port both ways until either side
 * ends (or is idle for RELAY_IDLE_MS), then exits. */
static void relay(int c, int port)
{
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (port <= 0 || t < 0 || connect(t, (struct sockaddr *)&a, sizeof(a)) != 0)
        _exit(1);
    setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct pollfd p[2] = {{.fd = c, .events = POLLIN}, {.fd = t, .events = POLLIN}};
    char buf[16384];
    for (;;) {
        int r = poll(p, 2, RELAY_IDLE_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            _exit(1);
        for (int i = 0; i < 2; i++) {
            if (!p[i].revents)
                continue;
            ssize_t n = read(p[i].fd, buf, sizeof(buf));
            if (n <= 0 || write_all(p[1 - i].fd, buf, (size_t)n) != 0)
                _exit(0);
        }
    }
}

/* Reaps every ended child; records chyve's status. */
static void reap(void)
{
    int ws;
    pid_t pid;
    while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
        if (pid == chyve_pid)
            chyve_status = ws;
}

/* Kills chyve's session if it still runs and waits for it. */
static void kill_chyve(void)
{
    if (chyve_pid > 0 && chyve_status < 0) {
        kill(-chyve_pid, SIGKILL);
        int ws;
        if (waitpid(chyve_pid, &ws, 0) == chyve_pid)
            chyve_status = ws;
    }
}

/* Starts CHYVE with the collected words and environment; returns 0 or -1. */
static int start_chyve(void)
{
    kill_chyve();
    static char chyve[] = CHYVE;
    words[0] = chyve;
    words[n_words + 1] = NULL;
    envs[n_envs] = NULL;
    chyve_status = -1;
    chyve_pid = fork();
    if (chyve_pid == 0) {
        setsid();
        int o = open(OUT_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(ERR_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int n = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || n < 0 || dup2(n, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        execve(CHYVE, words, envs);
        _exit(127);
    }
    return chyve_pid > 0 ? 0 : -1;
}

/* Frees the collected argv/env words. */
static void clear_words(void)
{
    for (int i = 1; i <= n_words; i++)
        free(words[i]);
    for (int i = 0; i < n_envs; i++)
        free(envs[i]);
    n_words = n_envs = 0;
}

/* Sends "data LEN\n" and the file's bytes on c; returns 0 or -1. */
static int send_file(int c, const char *path)
{
    char hdr[64];
    char *buf = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        struct stat st;
        if (fstat(fileno(f), &st) == 0 && st.st_size > 0) {
            buf = malloc((size_t)st.st_size);
            len = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
        }
        fclose(f);
    }
    int n = snprintf(hdr, sizeof(hdr), "data %zu\n", len);
    int rc = write_all(c, hdr, (size_t)n) == 0 && write_all(c, buf ? buf : "", len) == 0 ? 0 : -1;
    free(buf);
    return rc;
}

/* Sends one reply line; returns 0 or -1. */
static int reply(int c, const char *fmt, long v)
{
    char line[128];
    int n = snprintf(line, sizeof(line), fmt, v);
    return write_all(c, line, (size_t)n);
}

/* Handles one request line; returns 0, -1 (drop the connection) or 1 + N for "quit N". */
static int handle(int c, char *line)
{
    if (!strncmp(line, "arg ", 4) || !strncmp(line, "env ", 4)) {
        int is_arg = line[0] == 'a';
        if ((is_arg ? n_words : n_envs) >= MAX_WORDS)
            return reply(c, "err too many words\n", 0);
        char *w = strdup(line + 4);
        if (!w)
            return -1;
        if (is_arg)
            words[++n_words] = w;
        else
            envs[n_envs++] = w;
        return reply(c, "ok\n", 0);
    }
    if (!strncmp(line, "start ", 6)) {
        char *end;
        long port = strtol(line + 6, &end, 10);
        if (*end || port <= 0 || port > 65535)
            return reply(c, "err bad port\n", 0);
        relay_target = (int)port;
        int rc = start_chyve();
        clear_words();
        return reply(c, rc == 0 ? "ok\n" : "err fork\n", 0);
    }
    if (!strcmp(line, "poll")) {
        reap();
        if (chyve_pid <= 0)
            return reply(c, "none\n", 0);
        if (chyve_status < 0)
            return reply(c, "running\n", 0);
        if (WIFEXITED(chyve_status))
            return reply(c, "exit %ld\n", WEXITSTATUS(chyve_status));
        return reply(c, "signal %ld\n", WTERMSIG(chyve_status));
    }
    if (!strcmp(line, "out") || !strcmp(line, "err"))
        return send_file(c, line[0] == 'o' ? OUT_FILE : ERR_FILE);
    if (!strcmp(line, "kill")) {
        kill_chyve();
        return reply(c, "ok\n", 0);
    }
    if (!strncmp(line, "quit ", 5)) {
        int code = atoi(line + 5) & 0xFF;
        reply(c, "bye\n", 0);
        return 1 + code;
    }
    return reply(c, "err unknown request\n", 0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    long limit = argc > 1 ? strtol(argv[1], NULL, 10) : 600;
    time_t deadline = time(NULL) + (limit > 0 ? limit : 600);

    load_net_modules();
    if (if_up("lo", NULL) != 0 || if_up("eth0", "10.0.2.15") != 0)
        return 1;
    int ls = listen_on(CONTROL_PORT), rs = listen_on(RELAY_PORT);
    if (ls < 0 || rs < 0)
        return 1;
    printf("gdb_agent: ready (control %d, relay %d)\n", CONTROL_PORT, RELAY_PORT);

    int c = -1, had_client = 0, status = -1;
    char line[LINE_MAX_LEN];
    size_t have = 0;
    while (status < 0) {
        if (time(NULL) > deadline) {
            printf("gdb_agent: timed out after %ld s\n", limit);
            status = 124;
            break;
        }
        reap();
        struct pollfd p[3] = {{.fd = ls, .events = POLLIN},
                              {.fd = rs, .events = POLLIN},
                              {.fd = c, .events = POLLIN}};
        int r = poll(p, c >= 0 ? 3 : 2, 200);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            int n = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
            if (n >= 0 && c >= 0)
                close(n); /* one control session at a time */
            else if (n >= 0)
                c = n, have = 0, had_client = 1;
        }
        if (p[1].revents & POLLIN) {
            int n = accept4(rs, NULL, NULL, SOCK_CLOEXEC);
            if (n >= 0) {
                pid_t pid = fork();
                if (pid == 0) {
                    close(ls);
                    close(rs);
                    if (c >= 0)
                        close(c);
                    relay(n, relay_target);
                }
                close(n);
            }
        }
        if (c >= 0 && p[2].revents) {
            ssize_t n = read(c, line + have, sizeof(line) - 1 - have);
            if (n <= 0) {
                close(c);
                c = -1;
                if (had_client)
                    status = 1; /* the host went away without "quit" */
                continue;
            }
            have += (size_t)n;
            char *nl;
            while (status < 0 && (nl = memchr(line, '\n', have))) {
                *nl = '\0';
                int h = handle(c, line);
                size_t used = (size_t)(nl + 1 - line);
                memmove(line, nl + 1, have - used);
                have -= used;
                if (h > 0)
                    status = h - 1;
                else if (h < 0)
                    status = 1;
            }
            if (status < 0 && have == sizeof(line) - 1)
                status = 1; /* a line longer than any request */
        }
    }
    kill_chyve();
    printf("gdb_agent: exit %d\n", status < 0 ? 1 : status);
    return status < 0 ? 1 : status;
}
