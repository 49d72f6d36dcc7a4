/*
 * kvm_x86_64_irq.c: the x86_64 interrupt controllers under KVM (docs/decisions.md "Interrupt
 * controllers"): by default a split irqchip, the local APICs in KVM and the IOAPIC in chyve
 * (src/arch-x86_64/ioapic.c) delivering by KVM_SIGNAL_MSI, the PIC ports accepted and ignored;
 * with --pit, or a KVM without the split irqchip, KVM's full irqchip.
 */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "kvm_priv.h"
#include "log.h"
#include "vm_config.h"

/* The IOAPIC's messages go to the local APICs in KVM (split irqchip only). */
static void deliver_msi(void *ctx, const struct ioapic_msi *m)
{
    struct backend_vm *vm = ctx;
    struct kvm_msi msi = {.address_lo = m->addr_lo, .address_hi = m->addr_hi, .data = m->data};
    if (kvm_ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0) {
        log_warn_limited("KVM_SIGNAL_MSI of vector %u failed: %s", m->data & 0xFFu,
                         strerror(errno));
    }
}

/*
 * Gives KVM an MSI route for each pin whose entry is level-triggered, so that an EOI of its vector
 * exits (KVM_EXIT_IOAPIC_EOI) and the IOAPIC can clear Remote IRR. Calls KVM only when the set of
 * routes changed; edge-only tables (Hermit's) never need one. Called with ioapic_lock held.
 */
static int update_routes(struct backend_vm *vm)
{
    struct kvm_x86_vm *a = kvm_x86(vm);
    struct ioapic_msi want[IOAPIC_PINS];
    bool on[IOAPIC_PINS];
    bool same = true;
    unsigned n = 0;
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        on[pin] = ioapic_route(&a->ioapic, pin, &want[pin]);
        n += on[pin];
        if (on[pin] != a->routed[pin] ||
            (on[pin] && memcmp(&want[pin], &a->routes[pin], sizeof(want[pin])) != 0)) {
            same = false;
        }
    }
    if (same) {
        return 0;
    }
    union { /* struct kvm_irq_routing ends in a flexible array: room for every pin behind it */
        struct kvm_irq_routing hdr;
        uint8_t bytes[sizeof(struct kvm_irq_routing) +
                      IOAPIC_PINS * sizeof(struct kvm_irq_routing_entry)];
    } r;
    memset(&r, 0, sizeof(r));
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        if (on[pin]) {
            struct kvm_irq_routing_entry *e = &r.hdr.entries[r.hdr.nr++];
            e->gsi = pin;
            e->type = KVM_IRQ_ROUTING_MSI;
            e->u.msi.address_lo = want[pin].addr_lo;
            e->u.msi.address_hi = want[pin].addr_hi;
            e->u.msi.data = want[pin].data;
        }
    }
    if (kvm_ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, &r.hdr) != 0) {
        return err_set("KVM_SET_GSI_ROUTING (%u IOAPIC routes) failed: %s", n, strerror(errno));
    }
    memcpy(a->routes, want, sizeof(want));
    memcpy(a->routed, on, sizeof(on));
    return 0;
}

int kvm_x86_irqchip_create(struct backend_vm *vm)
{
    struct kvm_x86_vm *a = vm->arch;
    pthread_mutex_init(&a->ioapic_lock, NULL);
    ioapic_init(&a->ioapic, deliver_msi, vm);
    if (!vm->cfg->pit) {
        /* The local APICs in KVM, the IOAPIC here: 24 GSIs reserved for its routes. */
        struct kvm_enable_cap split = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {IOAPIC_PINS}};
        a->split = kvm_ioctl(vm->vm_fd, KVM_ENABLE_CAP, &split) == 0;
        if (!a->split) {
            log_debug("KVM has no split irqchip (%s): using its full irqchip", strerror(errno));
        }
    }
    if (!a->split && kvm_ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, NULL) != 0) {
        return err_set("KVM_CREATE_IRQCHIP failed: %s", strerror(errno));
    }
    struct kvm_pit_config pit = {.flags = 0};
    if (vm->cfg->pit && kvm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) != 0) {
        return err_set("--pit: KVM cannot create an i8254 PIT: %s", strerror(errno));
    }
    return 0;
}

int backend_irq_line(struct backend_vm *vm, unsigned line, bool level)
{
    struct kvm_x86_vm *a = kvm_x86(vm);
    if (a->split) {
        pthread_mutex_lock(&a->ioapic_lock);
        ioapic_set_line(&a->ioapic, line, level);
        pthread_mutex_unlock(&a->ioapic_lock);
        return 0;
    }
    struct kvm_irq_level irq = {.irq = line, .level = level ? 1 : 0};
    if (kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) != 0) {
        return err_set("KVM_IRQ_LINE %u failed: %s", line, strerror(errno));
    }
    return 0;
}

/* The 8259 PICs' command and data ports, and their edge/level control registers. */
static bool is_pic_port(unsigned port)
{
    return port == 0x20 || port == 0x21 || port == 0xA0 || port == 0xA1 || port == 0x4D0 ||
           port == 0x4D1;
}

bool kvm_x86_pic_pio(struct backend_vm *vm, unsigned port, bool in, uint8_t *data, uint64_t len)
{
    if (!kvm_x86(vm)->split || !is_pic_port(port)) {
        return false;
    }
    /* No PIC behind a split irqchip: kernels only mask it. Reads: nothing pending or in
     * service, every line masked (the mask registers 0x21/0xA1), every line edge (ELCR). */
    if (in) {
        memset(data, (port == 0x21 || port == 0xA1) ? 0xFF : 0, len);
    }
    return true;
}

int kvm_x86_ioapic_mmio(struct backend_vm *vm, uint64_t gpa, bool write, uint8_t *data,
                        unsigned len)
{
    struct kvm_x86_vm *a = kvm_x86(vm);
    if (!a->split || gpa < IOAPIC_BASE || gpa >= IOAPIC_BASE + IOAPIC_SIZE) {
        return 0;
    }
    pthread_mutex_lock(&a->ioapic_lock);
    int r = 0;
    if (ioapic_mmio(&a->ioapic, gpa - IOAPIC_BASE, write, data, len)) {
        r = update_routes(vm);
    }
    pthread_mutex_unlock(&a->ioapic_lock);
    return r == 0 ? 1 : -1;
}

void kvm_x86_ioapic_eoi(struct backend_vm *vm, uint8_t vector)
{
    struct kvm_x86_vm *a = kvm_x86(vm);
    pthread_mutex_lock(&a->ioapic_lock);
    ioapic_eoi(&a->ioapic, vector);
    pthread_mutex_unlock(&a->ioapic_lock);
}
