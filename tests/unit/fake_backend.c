/* fake_backend.c: a backend.h implementation without a hypervisor, for unit tests of the core. */
#include <stdlib.h>

#include "backend.h"
#include "err.h"
#include "fake_backend.h"

const bool backend_has_pci = true;

uint64_t fake_pt_root;
int fake_kicks;

struct backend_vcpu {
    int unused;
};

static struct backend_vcpu the_vcpu;
struct backend_vcpu *const fake_vcpu = &the_vcpu;

int backend_vm_create(struct guest_mem *m, const struct vm_config *cfg, struct iobus *bus,
                      struct backend_vm **out)
{
    (void)m;
    (void)cfg;
    (void)bus;
    *out = NULL;
    return err_set("fake backend: no VMs in unit tests");
}

int backend_irq_line(struct backend_vm *vm, unsigned line, bool level)
{
    (void)vm;
    (void)line;
    (void)level;
    return 0;
}

uint32_t backend_tsc_khz(struct backend_vm *vm)
{
    (void)vm;
    return 0;
}

int backend_vcpu_create(struct backend_vm *vm, unsigned id, const struct layout *l,
                        struct backend_vcpu **out)
{
    (void)vm;
    (void)id;
    (void)l;
    *out = fake_vcpu;
    return 0;
}

int backend_vcpu_run(struct backend_vcpu *v, struct vcpu_exit *exit)
{
    (void)v;
    exit->kind = VCPU_EXIT_FAILED;
    return err_set("fake backend: cannot run");
}

int backend_vcpu_pt_root(struct backend_vcpu *v, uint64_t *root)
{
    (void)v;
    *root = fake_pt_root;
    return 0;
}

void backend_vcpu_kick(struct backend_vcpu *v)
{
    (void)v;
    fake_kicks++;
}

void backend_vcpu_stats(struct backend_vcpu *v, uint64_t counts[VCPU_STAT_COUNT])
{
    (void)v;
    for (int i = 0; i < VCPU_STAT_COUNT; i++)
        counts[i] = 0;
}

void backend_vcpu_destroy(struct backend_vcpu *v)
{
    (void)v;
}

void backend_vm_destroy(struct backend_vm *vm)
{
    (void)vm;
}

/* No debugging without a hypervisor: the probe fails as a backend without support does. */
int backend_debug_probe(struct backend_vm *vm, struct backend_debug_caps *caps)
{
    (void)vm;
    *caps = (struct backend_debug_caps){.missing = "the fake backend cannot debug"};
    return err_set("the fake backend cannot debug");
}

int backend_vcpu_set_debug(struct backend_vcpu *v, const struct vcpu_debug *d)
{
    (void)v;
    (void)d;
    return err_set("the fake backend cannot debug");
}

int backend_vcpu_get_regs(struct backend_vcpu *v, uint8_t *buf, size_t len)
{
    (void)v;
    (void)buf;
    (void)len;
    return err_set("the fake backend cannot debug");
}

int backend_vcpu_set_regs(struct backend_vcpu *v, const uint8_t *buf, size_t len)
{
    (void)v;
    (void)buf;
    (void)len;
    return err_set("the fake backend cannot debug");
}

/* Nothing here is slow enough before the VM exists to be worth a thread (backend.h). */
void backend_warm_up(void) {}

void backend_warm_up_end(void) {}
