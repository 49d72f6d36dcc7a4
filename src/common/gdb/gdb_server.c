/*
 * gdb_server.c: the stub's sockets and its thread (gdb.h). One debugger at a time, on 127.0.0.1
 * and ::1 only. The thread polls the listeners, the client and a wake-up pipe that vCPU threads
 * and vm_stop() write to, so it never blocks on any one of them: a client that stops reading,
 * sends garbage or disappears, and a guest that ends, are all seen within one poll.
 *
 * Session states: no client (the guest runs, or waits for the first debugger); attaching (a
 * client connected, the vCPUs are being stopped); stopped (all vCPUs parked, packets served);
 * running (resumed, waiting for a stop or Ctrl-C); detaching (stopping the vCPUs to release them
 * without breakpoints).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arch.h"
#include "err.h"
#include "host.h"
#include "gdb/gdb.h"
#include "gdb/gdb_packet.h"
#include "gdb/gdb_priv.h"
#include "gdb/gdb_proto.h"
#include "log.h"
#include "vm.h"

/* How long a reply may wait for a client that does not read before the client is dropped. */
#define SEND_TIMEOUT_MS 5000

enum state { S_IDLE, S_ATTACHING, S_STOPPED, S_RUNNING, S_DETACHING };

/* The server thread's own state: one client at a time. */
struct server {
    struct gdb *g;
    int fd; /* client, or -1 */
    enum state st;
    bool interrupted; /* Ctrl-C while running: report SIGINT */
    struct gdb_rx rx;
    struct gdb_session s;
    size_t last_len; /* the last framed packet, for a '-' resend */
    uint8_t last[2 * GDB_PACKET_MAX + 8];
};

static int set_cloexec_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
        return -1;
    return 0;
}

/* A listener on the loopback address of family af, or -1 (errno set). */
static int listen_on(int af, uint16_t port)
{
    int fd = socket(af, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    if (af == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4) != 0 ||
        set_cloexec_nonblock(fd) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int gdb_open(struct vm *vm, uint16_t port, struct gdb **out)
{
    struct gdb *g = calloc(1, sizeof(*g));
    if (!g)
        return err_set("out of memory for the GDB stub");
    g->vm = vm;
    g->ncpus = vm->cfg->ncpus;
    g->port = port;
    g->target.g = g;
    g->wake[0] = g->wake[1] = -1;
    g->listen[0] = g->listen[1] = -1;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    atomic_init(&g->halt,
                true); /* every vCPU waits for the debugger before its first instruction */
    g->cpu = calloc(g->ncpus, sizeof(*g->cpu));
    *out = g;
    if (!g->cpu)
        return err_set("out of memory for the GDB stub");
    if (backend_debug_probe(vm->backend, &g->caps) != 0)
        return err_prefix("--gdb-port: ");
    if (pipe(g->wake) != 0 || set_cloexec_nonblock(g->wake[0]) != 0 ||
        set_cloexec_nonblock(g->wake[1]) != 0)
        return err_set("GDB stub: pipe: %s", strerror(errno));
    int e4 = 0, e6 = 0;
    int fd = listen_on(AF_INET, port);
    if (fd >= 0)
        g->listen[g->nlisten++] = fd;
    else
        e4 = errno;
    fd = listen_on(AF_INET6, port);
    if (fd >= 0)
        g->listen[g->nlisten++] = fd;
    else
        e6 = errno;
    /* ::1 may be missing (IPv6 off); a port someone else holds is an error on either address. */
    if (e4 == EADDRINUSE || e6 == EADDRINUSE || g->nlisten == 0)
        return err_set("--gdb-port: cannot listen on %s:%u: %s", e4 ? "127.0.0.1" : "[::1]", port,
                       strerror(e4 ? e4 : e6));
    char where[64] = "";
    if (!e4)
        snprintf(where, sizeof(where), "127.0.0.1:%u", port);
    if (!e6)
        snprintf(where + strlen(where), sizeof(where) - strlen(where), "%s[::1]:%u",
                 e4 ? "" : " and ", port);
    fprintf(stderr, "chyve: gdb: waiting for the debugger on %s\n", where);
    if (g->caps.missing)
        fprintf(stderr, "chyve: gdb: not on this host: %s\n", g->caps.missing);
    return 0;
}

/* Writes all of buf to the client, waiting at most SEND_TIMEOUT_MS for it to read. */
static int send_all(struct server *sv, const uint8_t *buf, size_t n)
{
    while (n > 0 && sv->fd >= 0) {
        ssize_t k = send(sv->fd, buf, n, 0);
        if (k > 0) {
            buf += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = sv->fd, .events = POLLOUT};
            if (poll(&p, 1, SEND_TIMEOUT_MS) > 0 && !(p.revents & (POLLERR | POLLHUP)))
                continue;
        }
        return -1;
    }
    return sv->fd >= 0 ? 0 : -1;
}

static void drop_client(struct server *sv);

/* Frames and sends the session's reply; keeps it for a resend. */
static void send_reply(struct server *sv)
{
    size_t n = gdb_frame(sv->last, sizeof(sv->last), (const uint8_t *)sv->s.out, sv->s.len, true);
    if (n == 0) { /* cannot happen for replies chyve builds; answer with an error, not nothing */
        n = gdb_frame(sv->last, sizeof(sv->last), (const uint8_t *)"E01", 3, false);
    }
    sv->last_len = n;
    if (send_all(sv, sv->last, n) != 0)
        drop_client(sv);
}

static void send_byte(struct server *sv, char c)
{
    if (send_all(sv, (const uint8_t *)&c, 1) != 0)
        drop_client(sv);
}

/* Stops using the client; what happens to the VM is the caller's (see lose_client). */
static void drop_client(struct server *sv)
{
    if (sv->fd >= 0)
        close(sv->fd);
    sv->fd = -1;
}

/* Releases every vCPU to run without breakpoints, as after a detach. All are parked. */
static void let_run(struct server *sv)
{
    struct gdb *g = sv->g;
    gdb_target_clear_breakpoints(&g->target);
    enum gdb_action act[VM_MAX_CPUS];
    for (unsigned i = 0; i < g->ncpus; i++)
        act[i] = GDB_ACT_CONTINUE;
    gdb_release(g, act);
    sv->st = S_IDLE;
}

/* The client is gone (disconnect, detach, unreadable): the guest runs on without it. */
static void lose_client(struct server *sv)
{
    drop_client(sv);
    if (sv->st == S_STOPPED) {
        let_run(sv);
    } else if (sv->st == S_RUNNING || sv->st == S_ATTACHING) {
        gdb_halt_all(sv->g); /* stop them to take the breakpoints away; released when parked */
        sv->st = S_DETACHING;
    }
}

static void accept_client(struct server *sv, int lfd)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        return;
    if (sv->fd >= 0 || sv->st == S_DETACHING || set_cloexec_nonblock(fd) != 0) {
        close(fd); /* one debugger at a time */
        log_warn("gdb: refused a second debugger connection");
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
#ifdef SO_NOSIGPIPE
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one));
#endif
    sv->fd = fd;
    gdb_rx_init(&sv->rx);
    sv->last_len = 0;
    sv->interrupted = false;
    gdb_halt_all(sv->g);
    sv->st = S_ATTACHING;
    log_info("gdb: debugger connected");
}

/* One whole packet from the client. */
static void on_packet(struct server *sv)
{
    struct gdb *g = sv->g;
    if (!sv->s.noack)
        send_byte(sv, '+');
    if (sv->fd < 0)
        return lose_client(sv);
    if (sv->st != S_STOPPED)
        return; /* all-stop: a debugger sends nothing but Ctrl-C while the VM runs */
    switch (gdb_proto_handle(&sv->s, &g->target, sv->rx.buf, sv->rx.len)) {
    case GDB_REPLY:
        send_reply(sv);
        if (sv->s.noack_next) {
            sv->s.noack = true;
            sv->s.noack_next = false;
        }
        if (sv->fd < 0)
            lose_client(sv);
        break;
    case GDB_RESUMED:
        sv->st = S_RUNNING;
        sv->interrupted = false;
        break;
    case GDB_DETACH:
        send_reply(sv);
        drop_client(sv);
        let_run(sv);
        log_info("gdb: debugger detached; the guest runs on");
        break;
    case GDB_KILL: /* the vCPUs stay parked until vm_stop() releases them to end */
        drop_client(sv);
        gdb_target_kill(&g->target);
        break;
    }
}

static void on_input(struct server *sv)
{
    uint8_t buf[4096];
    ssize_t n = recv(sv->fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        log_info("gdb: debugger disconnected; the guest runs on");
        return lose_client(sv);
    }
    for (ssize_t i = 0; i < n && sv->fd >= 0; i++) {
        switch (gdb_rx_byte(&sv->rx, buf[i])) {
        case GDB_RX_PACKET:
            on_packet(sv);
            break;
        case GDB_RX_BAD_CHECKSUM:
        case GDB_RX_OVERFLOW:
        case GDB_RX_BAD_ENCODING:
            if (!sv->s.noack)
                send_byte(sv, '-');
            if (sv->fd < 0)
                lose_client(sv);
            break;
        case GDB_RX_INTERRUPT:
            if (sv->st == S_RUNNING && !sv->interrupted) {
                sv->interrupted = true;
                gdb_halt_all(sv->g);
            }
            break;
        case GDB_RX_NACK:
            if (sv->last_len && send_all(sv, sv->last, sv->last_len) != 0) {
                drop_client(sv);
                lose_client(sv);
            }
            break;
        case GDB_RX_ACK:
        case GDB_RX_NONE:
            break;
        }
    }
}

/* Moves the session on once every vCPU has parked. */
static void on_vcpus(struct server *sv)
{
    struct gdb *g = sv->g;
    int ev = -1;
    if (sv->st == S_RUNNING && !sv->interrupted) {
        /* A vCPU stopped on its own (breakpoint, step): stop the others. */
        gdb_all_parked(g, &ev);
        if (ev >= 0)
            gdb_halt_all(g);
    }
    if (sv->st == S_IDLE || sv->st == S_STOPPED || !gdb_all_parked(g, &ev))
        return;
    /* vm_stop() comes before a vCPU leaves: all "parked" because gone is the end, not a stop. */
    if (gdb_ending(g))
        return;
    gdb_sw_unpatch(g);
    struct gdb_stop st;
    switch (sv->st) {
    case S_ATTACHING:
        gdb_stop_of(g, ev >= 0 ? (unsigned)ev : 0, &st);
        if (ev < 0) {
            for (unsigned i = 0; i < g->ncpus && !gdb_target_alive(&g->target, st.tid); i++)
                st.tid = i + 1; /* the first live vCPU */
        }
        gdb_session_init(&sv->s, &st);
        sv->st = S_STOPPED;
        break;
    case S_RUNNING:
        if (ev >= 0 && !sv->interrupted) {
            gdb_stop_of(g, (unsigned)ev, &st);
        } else {
            st = (struct gdb_stop){.tid = sv->s.last.tid, .signal = 2, .why = GDB_WHY_SIGNAL};
            if (!gdb_target_alive(&g->target, st.tid))
                for (unsigned i = g->ncpus; i >= 1; i--)
                    if (gdb_target_alive(&g->target, i))
                        st.tid = i;
        }
        gdb_proto_stop_reply(&sv->s, &st);
        sv->st = S_STOPPED;
        send_reply(sv);
        if (sv->fd < 0)
            lose_client(sv);
        break;
    case S_DETACHING:
        let_run(sv);
        break;
    default:
        break;
    }
}

/* The run is over: tell the debugger how, if one is attached. */
static void on_end(struct server *sv)
{
    struct vm *vm = sv->g->vm;
    if (sv->fd < 0)
        return;
    pthread_mutex_lock(&vm->stop_lock);
    bool failed = vm->failed;
    int code = vm->exit_code;
    pthread_mutex_unlock(&vm->stop_lock);
    gdb_proto_exit_reply(&sv->s, !failed, code);
    send_reply(sv);
    drop_client(sv);
}

static void *server_main(void *arg)
{
    struct gdb *g = arg;
    /* Its sockets are listening: confined before the first client byte. */
    struct server *sv = NULL;
    if (host_confine_thread(HOST_THREAD_GDB) != 0)
        log_error("gdb: %s; the guest runs without the debugger", err_msg());
    else if (!(sv = calloc(1, sizeof(*sv))))
        log_error("gdb: out of memory; the guest runs without the debugger");
    if (!sv) {
        enum gdb_action act[VM_MAX_CPUS];
        for (unsigned i = 0; i < g->ncpus; i++)
            act[i] = GDB_ACT_CONTINUE;
        atomic_store(&g->halt, false);
        gdb_release(g, act);
        return NULL;
    }
    sv->g = g;
    sv->fd = -1;
    sv->st = S_IDLE;
    for (;;) {
        struct pollfd p[4];
        unsigned n = 0;
        p[n++] = (struct pollfd){.fd = g->wake[0], .events = POLLIN};
        for (unsigned i = 0; i < g->nlisten; i++)
            p[n++] = (struct pollfd){.fd = g->listen[i], .events = POLLIN};
        unsigned client = n;
        if (sv->fd >= 0) /* not read while attaching: packets wait until the VM is stopped */
            p[n++] = (struct pollfd){.fd = sv->fd, .events = sv->st == S_ATTACHING ? 0 : POLLIN};
        if (poll(p, n, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents) {
            char buf[64];
            while (read(g->wake[0], buf, sizeof(buf)) > 0)
                ;
        }
        if (gdb_ending(g)) {
            on_end(sv);
            break;
        }
        for (unsigned i = 0; i < g->nlisten; i++)
            if (p[1 + i].revents & POLLIN)
                accept_client(sv, g->listen[i]);
        if (client < n && sv->fd == p[client].fd && p[client].revents) {
            if (p[client].revents & POLLIN)
                on_input(sv);
            else if (p[client].revents & (POLLERR | POLLHUP | POLLNVAL))
                lose_client(sv);
        }
        on_vcpus(sv);
    }
    drop_client(sv);
    if (!gdb_ending(g)) { /* poll failed: never leave the guest parked without a debugger */
        log_error("gdb: the stub failed (%s); the guest runs on without it", strerror(errno));
        if (gdb_all_parked(g, NULL))
            let_run(sv);
        else
            atomic_store(&g->halt, false);
    }
    free(sv);
    return NULL;
}

int gdb_start(struct gdb *g)
{
    int e = pthread_create(&g->thread, NULL, server_main, g);
    if (e != 0)
        return err_set("cannot start the GDB stub thread: %s", strerror(e));
    g->thread_started = true;
    return 0;
}

void gdb_close(struct gdb *g)
{
    if (!g)
        return;
    if (g->wake[1] >= 0)
        gdb_vm_stopping(g);
    if (g->thread_started)
        pthread_join(g->thread, NULL);
    for (unsigned i = 0; i < g->nlisten; i++)
        close(g->listen[i]);
    if (g->wake[0] >= 0)
        close(g->wake[0]);
    if (g->wake[1] >= 0)
        close(g->wake[1]);
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
    free(g->cpu);
    free(g);
}
