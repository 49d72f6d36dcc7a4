/*
 * hvf_debug.c: the debug calls of backend.h on Hypervisor.framework, not written yet. The GDB
 * stub's protocol core is portable; what HVF still needs is the register file
 * (hv_vcpu_get_reg / hv_vcpu_get_simd_fp_reg), the debug exceptions (hv_vcpu_set_trap_debug_
 * exceptions, the DBGBCR/DBGWCR system registers) and single-step (MDSCR_EL1.SS). Until then
 * -s is refused with this reason instead of attaching a debugger that cannot stop the guest.
 */
#include "backend.h"
#include "err.h"

#define NOT_YET "the macOS (Hypervisor.framework) backend has no debugger support yet"

int backend_debug_probe(struct backend_vm *vm, struct backend_debug_caps *caps)
{
    (void)vm;
    *caps = (struct backend_debug_caps){.missing = NOT_YET};
    return err_set(NOT_YET);
}

int backend_vcpu_set_debug(struct backend_vcpu *v, const struct vcpu_debug *d)
{
    (void)v;
    if (d->step || d->sw_breakpoints || d->nbp)
        return err_set(NOT_YET);
    return 0;
}

int backend_vcpu_get_regs(struct backend_vcpu *v, uint8_t *buf, size_t len)
{
    (void)v;
    (void)buf;
    (void)len;
    return err_set(NOT_YET);
}

int backend_vcpu_set_regs(struct backend_vcpu *v, const uint8_t *buf, size_t len)
{
    (void)v;
    (void)buf;
    (void)len;
    return err_set(NOT_YET);
}
