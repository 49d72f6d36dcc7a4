/*
 * vm_ctl.c: what vCPU threads and hypercalls do to the run they share: write guest console
 * output, and end the run (see vm.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "log.h"
#include "vm.h"

void vm_console_write(struct vm *vm, const void *buf, size_t len)
{
    int fd = vm->cfg->out_fd;
    if (fd < 0 || len == 0)
        return;
    const uint8_t *p = buf;
    pthread_mutex_lock(&vm->out_lock);
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* A closed pipe or a full disk must not stop the guest; say so once. */
            static atomic_bool warned;
            if (!atomic_exchange(&warned, true))
                log_warn("cannot write guest output: %s", n < 0 ? strerror(errno) : "short write");
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&vm->out_lock);
}

void vm_stop(struct vm *vm, int code, const char *msg)
{
    pthread_mutex_lock(&vm->stop_lock);
    if (!atomic_load(&vm->stopping)) {
        vm->exit_code = code;
        vm->failed = msg != NULL;
        if (msg)
            snprintf(vm->fail_msg, sizeof(vm->fail_msg), "%s", msg);
        atomic_store(&vm->stopping, true);
        for (unsigned i = 0; i < VM_MAX_CPUS; i++) {
            struct backend_vcpu *v = atomic_load(&vm->vcpus[i]);
            if (v)
                backend_vcpu_kick(v);
        }
        if (vm->on_stop)
            vm->on_stop(vm->on_stop_ctx);
    }
    pthread_mutex_unlock(&vm->stop_lock);
}
