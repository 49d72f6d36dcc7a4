/*
 * hc_cmdline.c: the v1 command-line hypercalls Cmdsize and Cmdval (ABI §6.2). They announce and
 * deliver the same lists: argv = [kernel path, every argument], env = the guest's environment,
 * each capped at UHYVE_MAX_ARGC_ENVC entries (no uhyve slot shift, no host-environment count).
 */
#include <string.h>

#include "hypercall/calls.h"
#include "log.h"
#include "vm.h"

static size_t cmd_argc(const struct vm *vm)
{
    size_t n = 1 + vm->cfg->nargs;
    return n > UHYVE_MAX_ARGC_ENVC ? UHYVE_MAX_ARGC_ENVC : n;
}

static const char *cmd_arg(const struct vm *vm, size_t i)
{
    return i == 0 ? vm->cfg->kernel_path : vm->cfg->args[i - 1];
}

static size_t cmd_envc(const struct vm *vm)
{
    return vm->cfg->nenv > UHYVE_MAX_ARGC_ENVC ? UHYVE_MAX_ARGC_ENVC : vm->cfg->nenv;
}

/* Cmdsize: the counts and the string sizes (with NUL) of both lists. */
enum hc_status hc_cmdsize(const struct hc_call *c)
{
    const struct vm *vm = c->vm;
    struct uhyve_cmdsize b;
    memset(&b, 0, sizeof(b));
    size_t argc = cmd_argc(vm), envc = cmd_envc(vm);
    b.argc = (int32_t)argc;
    for (size_t i = 0; i < argc; i++)
        b.argsz[i] = (int32_t)(strlen(cmd_arg(vm, i)) + 1);
    b.envc = (int32_t)envc;
    for (size_t i = 0; i < envc; i++)
        b.envsz[i] = (int32_t)(strlen(vm->cfg->env[i]) + 1);
    hc_put(c, 0, &b, sizeof(b));
    return HC_CONTINUE;
}

/* Writes string s into the buffer whose address is slot i of the guest array at `array`. */
static void cmdval_put(struct vm *vm, const char *what, uint64_t array, size_t i, const char *s)
{
    uint64_t slot;
    if (guest_mem_read(&vm->mem, array + 8 * i, &slot, sizeof(slot)) != 0 ||
        guest_mem_write(&vm->mem, slot, s, strlen(s) + 1) != 0)
        log_warn_limited("Cmdval hypercall: %s[%zu] buffer is outside guest memory; skipped", what,
                         i);
}

/* Cmdval: every string into the buffers the guest's two address arrays name. */
enum hc_status hc_cmdval(const struct hc_call *c)
{
    const struct uhyve_cmdval *p = c->block;
    struct vm *vm = c->vm;
    /* 8 * i cannot overflow (i < 128); argv + 8 * i wrapping is caught by guest_mem_read. */
    for (size_t i = 0; i < cmd_argc(vm); i++)
        cmdval_put(vm, "argv", p->argv, i, cmd_arg(vm, i));
    for (size_t i = 0; i < cmd_envc(vm); i++)
        cmdval_put(vm, "env", p->envp, i, vm->cfg->env[i]);
    return HC_CONTINUE;
}
