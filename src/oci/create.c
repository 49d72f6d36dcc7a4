/*
 * create.c: create, start and run. create resolves the kernel in the rootfs, makes the state
 * directory and its start FIFO, and forks the process that becomes chyve (session, console,
 * network namespace, then exec); chyve prepares the VM and waits on the FIFO, which create
 * takes as ready once chyve holds it open. start writes the byte that lets the guest run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "kernel.h"
#include "launch.h"
#include "net.h"
#include "oci.h"
#include "spec.h"
#include "state.h"

#define READY_TIMEOUT_MS 60000 /* a VM not ready by then (a huge image?) is given up */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The options of create (and run). */
struct create_opts {
    const char *bundle, *pid_file, *console_socket, *id;
    bool detach;   /* run --detach: return once started */
    bool want_net; /* the kernel can drive a network device (set by create) */
};

/* chyve's path: $CHYVE_OCI_CHYVE, else the chyve beside this executable, else chyve on PATH. */
static int find_chyve(char *buf, size_t len)
{
    const char *env = getenv("CHYVE_OCI_CHYVE");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return 0;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            if (snprintf(buf, len, "%s/chyve", self) < (int)len && access(buf, X_OK) == 0)
                return 0;
        }
    }
    const char *path = getenv("PATH");
    char *dirs = strdup(path ? path : DEFAULT_PATH), *save = NULL;
    for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save))
        if (snprintf(buf, len, "%s/chyve", d) < (int)len && access(buf, X_OK) == 0) {
            free(dirs);
            return 0;
        }
    free(dirs);
    return err_set("cannot find chyve (beside chyve-oci, on PATH, or $CHYVE_OCI_CHYVE)");
}

/* RFC 3339 UTC time of now, with nanoseconds, as runc writes "created". */
static void now_rfc3339(char *buf, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%09ldZ", base, ts.tv_nsec);
}

/* Writes pid to path atomically (a temporary file beside it, then rename), as engines expect. */
static int write_pid_file(const char *path, int pid)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.chyve-oci.tmp", path) >= (int)sizeof(tmp))
        return err_set("the pid file path %s is too long", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return err_set("cannot write the pid file %s: %s", tmp, strerror(errno));
    fprintf(f, "%d", pid);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return err_set("cannot write the pid file %s: %s", path, strerror(errno));
    }
    return 0;
}

/* Sends fd over the unix socket at path (SCM_RIGHTS), as --console-socket expects. */
static int send_console(const char *path, int fd)
{
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return err_set("the console socket path %s is too long", path);
    strcpy(sa.sun_path, path);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        if (s >= 0)
            close(s);
        return err_set("cannot connect to the console socket %s: %s", path, strerror(e));
    }
    char name[] = "/dev/ptmx";
    char ctl[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {.iov_base = name, .iov_len = sizeof(name) - 1};
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    ssize_t n = sendmsg(s, &m, 0);
    int e = errno;
    close(s);
    if (n < 0)
        return err_set("cannot send the console to %s: %s", path, strerror(e));
    return 0;
}

/* In the child: a new terminal as its stdin, stdout and stderr, its master sent to path. */
static int console_setup(const char *path)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0)
        return err_set("cannot make a terminal: %s", strerror(errno));
    char *pts = ptsname(master);
    int slave = pts ? open(pts, O_RDWR | O_NOCTTY) : -1;
    if (slave < 0)
        return err_set("cannot open the terminal %s: %s", pts ? pts : "?", strerror(errno));
    if (send_console(path, master) != 0)
        return -1;
    close(master);
    if (ioctl(slave, TIOCSCTTY, 0) != 0)
        return err_set("cannot make %s the controlling terminal: %s", pts, strerror(errno));
    for (int i = 0; i < 3; i++)
        if (dup2(slave, i) < 0)
            return err_set("cannot attach the terminal: %s", strerror(errno));
    if (slave > 2)
        close(slave);
    return 0;
}

/*
 * The child's work before exec: session, console, network, argv. On failure it writes the
 * message to errfd and returns (the caller exits).
 */
static void child_main(struct create_opts *o, const struct oci_spec *s, struct oci_launch *l,
                       const char *dir, int errfd)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (setsid() < 0) {
        err_set("cannot start a session: %s", strerror(errno));
        goto fail;
    }
    if (s->terminal && console_setup(o->console_socket) != 0)
        goto fail;
    struct oci_net n;
    struct oci_net_args na;
    struct oci_guest_net gn;
    /* The namespace is joined whatever the kernel: the container belongs there, device or not. */
    if (s->netns) {
        int rc = oci_net_enter(s->netns);
        if (rc == 0 && o->want_net)
            rc = oci_net_plumb(OCI_TAP_NAME, &n);
        else if (rc == 0)
            rc = 1;
        if (rc < 0)
            goto fail;
        if (rc == 0) { /* 1: no IPv4 interface there, so a guest without a network device */
            oci_net_args(&n, &na);
            gn = (struct oci_guest_net){.tap = n.tap,
                                        .mac = na.mac,
                                        .ip = na.ip,
                                        .gateway = na.gateway[0] ? na.gateway : NULL,
                                        .mask = na.mask};
            l->net = &gn;
        }
    }
    char **argv;
    if (oci_launch_argv(s, l, &argv) != 0)
        goto fail;
    /* chyve reads no configuration file and no HERMIT_* variable of the engine's. */
    if (chdir(dir) != 0) {
        err_set("cannot enter %s: %s", dir, strerror(errno));
        goto fail;
    }
    static char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    char *env[3] = {path_env, NULL, NULL};
    char logenv[64];
    const char *lv = getenv("CHYVE_LOG");
    if (lv && strlen(lv) < 32) {
        snprintf(logenv, sizeof(logenv), "CHYVE_LOG=%s", lv);
        env[1] = logenv;
    }
    /* Nothing of the engine's but stdio reaches chyve (errfd is close-on-exec already). */
    syscall(SYS_close_range, 3, ~0u, 4 /* CLOSE_RANGE_CLOEXEC */);
    execve(argv[0], argv, env);
    err_set("cannot run %s: %s", argv[0], strerror(errno));
fail:;
    const char *msg = err_msg();
    ssize_t unused = write(errfd, msg, strlen(msg));
    (void)unused;
}

/* Waits until chyve holds the start FIFO open (ready) or ends. 0 when ready. */
static int wait_ready(pid_t pid, const char *fifo)
{
    for (int waited = 0;; waited++) {
        int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        if (errno != ENXIO)
            return err_set("cannot open the start FIFO %s: %s", fifo, strerror(errno));
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(status))
                return err_set("chyve exited with status %d before the VM was ready (its "
                               "message is in the container's output)",
                               WEXITSTATUS(status));
            return err_set("chyve ended by signal %d before the VM was ready", WTERMSIG(status));
        }
        if (waited >= READY_TIMEOUT_MS) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return err_set("the VM was not ready after %d s", READY_TIMEOUT_MS / 1000);
        }
        poll(NULL, 0, 1);
    }
}

/* create proper, with the state directory locked (lockfd). */
static int do_create(const struct oci_global *g, struct create_opts *o)
{
    struct oci_spec s;
    struct oci_state st = {0};
    char *kernel = NULL, **argv = NULL;
    char dir[4096], fifo[4096], chyve[4096], created[64];
    int rc = -1, lockfd = -1;
    if (oci_spec_load(o->bundle, &s) != 0 || oci_kernel_resolve(&s, &kernel) != 0 ||
        find_chyve(chyve, sizeof(chyve)) != 0)
        goto out_spec;
    if (s.terminal && !o->console_socket) {
        err_set("process.terminal is set but no --console-socket was given");
        goto out_spec;
    }
    if ((lockfd = oci_state_create(g->root, o->id)) < 0)
        goto out_spec;
    if (oci_state_path(dir, sizeof(dir), g->root, o->id, NULL) != 0 ||
        oci_state_path(fifo, sizeof(fifo), g->root, o->id, "start") != 0)
        goto out_remove;
    if (mkfifo(fifo, 0600) != 0) {
        err_set("cannot make %s: %s", fifo, strerror(errno));
        goto out_remove;
    }
    now_rfc3339(created, sizeof(created));
    o->want_net = s.netns && oci_kernel_takes_net(kernel);
    st = (struct oci_state){.netns = o->want_net ? strdup(s.netns) : NULL,
                            .id = strdup(o->id),
                            .bundle = strdup(o->bundle),
                            .created = strdup(created),
                            .annotations = s.annotations};
    s.annotations = NULL; /* st's now */
    if (!st.id || !st.bundle || !st.created || (o->want_net && !st.netns)) {
        err_set("out of memory");
        goto out_remove;
    }
    if (oci_state_write(g->root, &st) != 0)
        goto out_remove;
    /* Catch a bad mapping or memory limit here, before anything runs. */
    struct oci_launch l = {.chyve = chyve, .kernel = kernel, .fifo = fifo, .tempdir = dir};
    if (oci_launch_argv(&s, &l, &argv) != 0)
        goto out_remove;
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) != 0) {
        err_set("cannot make a pipe: %s", strerror(errno));
        goto out_remove;
    }
    pid_t pid = fork();
    if (pid < 0) {
        err_set("cannot fork: %s", strerror(errno));
        close(ep[0]);
        close(ep[1]);
        goto out_remove;
    }
    if (pid == 0) {
        close(ep[0]);
        child_main(o, &s, &l, dir, ep[1]);
        _exit(1);
    }
    close(ep[1]);
    char msg[512];
    ssize_t n = read(ep[0], msg, sizeof(msg) - 1);
    close(ep[0]);
    if (n > 0) { /* the child failed before exec */
        msg[n] = '\0';
        waitpid(pid, NULL, 0);
        err_set("%s", msg);
        goto out_remove;
    }
    if (wait_ready(pid, fifo) != 0)
        goto out_remove;
    bool zombie;
    st.pid = pid;
    st.starttime = oci_proc_starttime(pid, &zombie);
    if (oci_state_write(g->root, &st) != 0 || (o->pid_file && write_pid_file(o->pid_file, pid))) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        goto out_remove;
    }
    rc = 0;
    goto out_unlock;
out_remove:
    oci_state_remove(g->root, o->id);
out_unlock:
    close(lockfd);
    oci_state_free(&st);
out_spec:
    oci_argv_free(argv);
    free(kernel);
    oci_spec_free(&s);
    return rc;
}

/* Parses create's (and run's) options; 0, or -1 with err_msg(). */
static int parse_create(int argc, char **argv, struct create_opts *o)
{
    static const struct option opts[] = {
        {"bundle", required_argument, NULL, 'b'},
        {"pid-file", required_argument, NULL, 'p'},
        {"console-socket", required_argument, NULL, 'c'},
        {"no-pivot", no_argument, NULL, 'N'},
        {"no-new-keyring", no_argument, NULL, 'K'},
        {"preserve-fds", required_argument, NULL, 'P'},
        {"detach", no_argument, NULL, 'd'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct create_opts){.bundle = "."};
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "+b:d", opts, NULL)) != -1;) {
        switch (c) {
        case 'b':
            o->bundle = optarg;
            break;
        case 'p':
            o->pid_file = optarg;
            break;
        case 'c':
            o->console_socket = optarg;
            break;
        case 'd':
            o->detach = true;
            break;
        case 'N':
        case 'K':
        case 'P':
            break; /* accepted as runc does; nothing to do for a VM */
        default:
            return err_set("%s: unknown option '%s'", argv[0], argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return err_set("%s needs exactly one container ID", argv[0]);
    o->id = argv[optind];
    if (!oci_id_valid(o->id))
        return err_set("'%s' is not a valid container ID", o->id);
    return 0;
}

/* The bundle as an absolute path (state and relative root.path need one). */
static int absolute_bundle(struct create_opts *o, char *buf, size_t len)
{
    if (!realpath(o->bundle, buf) || strlen(buf) >= len)
        return err_set("bundle %s: %s", o->bundle, strerror(errno));
    o->bundle = buf;
    return 0;
}

int oci_cmd_create(const struct oci_global *g, int argc, char **argv)
{
    struct create_opts o;
    char bundle[4096];
    if (parse_create(argc, argv, &o) != 0 || absolute_bundle(&o, bundle, sizeof(bundle)) != 0 ||
        do_create(g, &o) != 0) {
        oci_error(g, "%s", err_msg());
        return 1;
    }
    return 0;
}

/* start proper: releases the VM of id. */
static int do_start(const struct oci_global *g, const char *id)
{
    int lockfd = oci_state_lock(g->root, id);
    if (lockfd < 0)
        return -1;
    struct oci_state st;
    int rc = -1;
    if (oci_state_read(g->root, id, &st) != 0)
        goto out_unlock;
    enum oci_status now = oci_state_status(&st);
    if (now != OCI_CREATED) {
        err_set("container %s is %s: only a created container can be started", id,
                oci_status_name(now));
        goto out;
    }
    char fifo[4096];
    if (oci_state_path(fifo, sizeof(fifo), g->root, id, "start") != 0)
        goto out;
    int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        err_set(errno == ENXIO ? "container %s is not waiting to start (chyve ended)"
                               : "cannot open the start FIFO of %s",
                id);
        goto out;
    }
    ssize_t n = write(fd, "s", 1);
    close(fd);
    if (n != 1) {
        err_set("cannot start container %s: %s", id, strerror(errno));
        goto out;
    }
    st.started = true;
    if (oci_state_write(g->root, &st) != 0)
        goto out;
    unlink(fifo);
    rc = 0;
out:
    oci_state_free(&st);
out_unlock:
    close(lockfd);
    return rc;
}

int oci_cmd_start(const struct oci_global *g, int argc, char **argv)
{
    if (argc != 2 || !oci_id_valid(argv[1])) {
        oci_error(g, "start needs exactly one container ID");
        return 1;
    }
    if (do_start(g, argv[1]) != 0) {
        oci_error(g, "%s", err_msg());
        return 1;
    }
    return 0;
}

int oci_cmd_run(const struct oci_global *g, int argc, char **argv)
{
    struct create_opts o;
    char bundle[4096];
    if (parse_create(argc, argv, &o) != 0 || absolute_bundle(&o, bundle, sizeof(bundle)) != 0 ||
        do_create(g, &o) != 0 || do_start(g, o.id) != 0) {
        oci_error(g, "%s", err_msg());
        return 1;
    }
    if (o.detach)
        return 0;
    /* run stays in the foreground until the guest ends, and passes its exit status on. */
    struct oci_state st;
    int status = 1;
    if (oci_state_read(g->root, o.id, &st) == 0) {
        int ws;
        if (waitpid(st.pid, &ws, 0) == st.pid)
            status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        oci_state_free(&st);
    }
    int lockfd = oci_state_lock(g->root, o.id);
    if (lockfd >= 0) {
        oci_state_remove(g->root, o.id);
        close(lockfd);
    }
    return status;
}
