/*
 * args_v1.c: a legacy (pre-0.10, no ABI tag) guest that gets argv/env through the Cmdsize and
 * Cmdval hypercalls (ABI §6.6) and prints them in the same format as args_fdt.
 */
#include "rt.h"

static struct uhyve_cmdsize sizes;

/* Allocates one buffer per announced size and returns the array of their addresses. */
static uint64_t *alloc_slots(int n, const int32_t *sz, const char *what)
{
    uint64_t *slots = rt_alloc(8 * (size_t)(n ? n : 1), 8);
    for (int i = 0; slots && i < n; i++) {
        char *buf = sz[i] > 0 ? rt_alloc((size_t)sz[i], 1) : NULL;
        if (!buf) {
            rt_printf("FAIL: cannot allocate %s[%d] of %d bytes\n", what, i, sz[i]);
            rt_exit(1);
        }
        memset(buf, 0xEE, (size_t)sz[i]);
        slots[i] = (uintptr_t)buf;
    }
    return slots;
}

/* Prints slot i, checking the string ends inside the size Cmdsize announced for it. */
static void print_slot(bool env, int i, const uint64_t *slots, const int32_t *sz)
{
    const char *s = (const char *)(uintptr_t)slots[i];
    int n = 0;
    while (n < sz[i] && s[n])
        n++;
    if (n == sz[i]) {
        rt_printf("FAIL: slot %d not terminated within its %d bytes\n", i, sz[i]);
        return;
    }
    if (n + 1 != sz[i])
        rt_printf("FAIL: slot %d has %d bytes, Cmdsize announced %d\n", i, n + 1, sz[i]);
    if (env)
        rt_printf("env %s\n", s);
    else
        rt_printf("arg[%d]=%s\n", i, s);
}

int guest_main(void)
{
    hc1_raw(UHYVE_V1_CMDSIZE, hc1_addr(&sizes));
    int argc = sizes.argc, envc = sizes.envc;
    if (argc < 0 || argc > 128 || envc < 0 || envc > 128) {
        rt_printf("FAIL: Cmdsize gave argc %d envc %d\n", argc, envc);
        return 1;
    }
    volatile struct uhyve_cmdval val;
    uint64_t *argv = alloc_slots(argc, sizes.argsz, "argv");
    uint64_t *envp = alloc_slots(envc, sizes.envsz, "env");
    if (!argv || !envp) {
        rt_printf("FAIL: out of memory\n");
        return 1;
    }
    val.argv = (uintptr_t)argv;
    val.envp = (uintptr_t)envp;
    hc1_raw(UHYVE_V1_CMDVAL, hc1_addr(&val));
    rt_printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        print_slot(false, i, argv, sizes.argsz);
    rt_printf("envc=%d\n", envc);
    for (int i = 0; i < envc; i++)
        print_slot(true, i, envp, sizes.envsz);
    return 0;
}
