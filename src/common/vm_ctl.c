/*
 * vm_ctl.c: what vCPU threads and hypercalls do to the run they share: write guest console
 * output (line-buffered), read host stdin, and end the run (see vm.h).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"
#include "vm.h"

/*
 * Waits until fd is ready (POLLIN or POLLOUT in `events`) or the run is stopping. Returns 1 when
 * fd is ready (also on an error condition, which the next read or write reports), 0 when the run
 * is stopping and fd is not ready, -1 with errno (EINTR: a kick, or another signal).
 */
static int wait_fd(struct vm *vm, int fd, short events)
{
    struct pollfd pf[2] = {{fd, events, 0}, {vm->wake[0], POLLIN, 0}};
    for (;;) {
        /* The wake byte, once written, stays: a stop before this poll makes it return at once. */
        int n = poll(pf, 2, -1);
        if (n < 0)
            return -1;
        if (pf[0].revents != 0)
            return 1;
        if (pf[1].revents != 0 || atomic_load(&vm->stopping))
            return 0;
    }
}

/*
 * Under out_lock: writes [p, p + len) to the console fd, whole, waiting for room in a pipe or
 * terminal unless the run is stopping. Returns false if the output is broken, with *err the
 * errno (0: a write took nothing); the caller reports it after unlocking, since a log line
 * flushes the console and so takes out_lock.
 */
static bool out_write(struct vm *vm, const uint8_t *p, size_t len, int *err)
{
    int fd = vm->cfg->out_fd;
    while (len > 0) {
        size_t chunk = len;
        if (vm->out_may_block) {
            /* After POLLOUT a pipe takes PIPE_BUF bytes without blocking; a tty about as many. */
            int w = wait_fd(vm, fd, POLLOUT);
            if (w < 0 && errno == EINTR)
                continue;
            if (w == 0)
                return true; /* stopping, and nobody drains the output: drop the rest */
            if (chunk > PIPE_BUF)
                chunk = PIPE_BUF;
        }
        ssize_t n = write(fd, p, chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *err = n < 0 ? errno : 0;
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Under out_lock: writes the held bytes and empties the buffer; false as out_write(). */
static bool out_flush_held(struct vm *vm, int *err)
{
    size_t n = vm->out_len;
    vm->out_len = 0; /* written or dropped, never twice */
    return n == 0 || out_write(vm, vm->out_buf, n, err);
}

/* A closed pipe or a full disk must not stop the guest; say so once. Without out_lock. */
static void out_broken(int err)
{
    static atomic_bool warned;
    if (!atomic_exchange(&warned, true))
        log_warn("cannot write guest output: %s", err ? strerror(err) : "short write");
}

void vm_console_write(struct vm *vm, const void *buf, size_t len)
{
    if (vm->cfg->out_fd < 0 || len == 0)
        return;
    int err = 0;
    bool ok = true;
    pthread_mutex_lock(&vm->out_lock);
    /* out_len <= sizeof(out_buf) always, so the room left cannot wrap, whatever len is. */
    if (len > sizeof(vm->out_buf) - vm->out_len)
        ok = out_flush_held(vm, &err);
    if (len >= sizeof(vm->out_buf)) {
        /* A buffer's worth or more: written from where it is, after the held bytes. */
        ok = out_write(vm, buf, len, &err) && ok;
    } else {
        memcpy(vm->out_buf + vm->out_len, buf, len);
        vm->out_len += len;
        /* Line-buffered like a terminal: a write that completes a line, or fills up, goes out. */
        if (memchr(buf, '\n', len) || vm->out_len == sizeof(vm->out_buf))
            ok = out_flush_held(vm, &err) && ok;
    }
    pthread_mutex_unlock(&vm->out_lock);
    if (!ok)
        out_broken(err);
}

void vm_console_flush(struct vm *vm)
{
    int err = 0;
    pthread_mutex_lock(&vm->out_lock);
    bool ok = out_flush_held(vm, &err);
    pthread_mutex_unlock(&vm->out_lock);
    if (!ok)
        out_broken(err);
}

void vm_console_flush_nowait(struct vm *vm)
{
    /* Busy: a writer holds the lock, perhaps waiting for a full pipe; never wait behind it. */
    if (pthread_mutex_trylock(&vm->out_lock) != 0)
        return;
    int err = 0;
    bool ok = true;
    struct pollfd pfd = {.fd = vm->cfg->out_fd, .events = POLLOUT};
    /* At most 4 KiB held: on Linux a pipe with room takes that in one write (PIPE_BUF). */
    if (vm->out_len > 0 && (!vm->out_may_block || poll(&pfd, 1, 0) == 1))
        ok = out_flush_held(vm, &err);
    pthread_mutex_unlock(&vm->out_lock);
    if (!ok)
        out_broken(err);
}

ssize_t vm_read_stdin(struct vm *vm, void *buf, size_t len)
{
    if (len == 0)
        return 0;
    /* A prompt without a newline must be on the screen before the guest waits for the answer. */
    vm_console_flush(vm);
    /* One reader at a time: two vCPUs woken by the same input must not both block in read(). */
    pthread_mutex_lock(&vm->stdin_lock);
    ssize_t r = wait_fd(vm, STDIN_FILENO, POLLIN);
    if (r > 0)
        r = read(STDIN_FILENO, buf, len);
    int e = errno;
    pthread_mutex_unlock(&vm->stdin_lock);
    errno = e;
    return r;
}

void vm_stop(struct vm *vm, int code, const char *msg)
{
    int wake_err = 0;
    pthread_mutex_lock(&vm->stop_lock);
    if (!atomic_load(&vm->stopping)) {
        vm->exit_code = code;
        vm->failed = msg != NULL;
        if (msg)
            snprintf(vm->fail_msg, sizeof(vm->fail_msg), "%s", msg);
        atomic_store(&vm->stopping, true);
        /* Wakes every hypercall waiting on a host fd, now or later (see vm.h). */
        if (vm->wake[1] >= 0 && write(vm->wake[1], "", 1) < 0)
            wake_err = errno;
        for (unsigned i = 0; i < VM_MAX_CPUS; i++) {
            struct backend_vcpu *v = atomic_load(&vm->vcpus[i]);
            if (v)
                backend_vcpu_kick(v);
        }
        if (vm->on_stop)
            vm->on_stop(vm->on_stop_ctx);
    }
    pthread_mutex_unlock(&vm->stop_lock);
    /* Not under stop_lock: a log line first flushes the console, which may wait for a pipe. */
    if (wake_err)
        log_warn("cannot wake the vCPUs: %s", strerror(wake_err));
}
