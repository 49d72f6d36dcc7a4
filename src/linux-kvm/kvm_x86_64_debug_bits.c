/* kvm_x86_64_debug_bits.c: x86 DR6/DR7, x87 tag word and RFLAGS bit logic for the debugger. */
#include <string.h>

#include "arch.h"
#include "err.h"
#include "kvm_x86_64_debug_bits.h"

/* EFLAGS bits a debugger may write: status, TF, IF, DF, IOPL, NT, RF, AC, VIF, VIP, ID. */
#define RFLAGS_WRITABLE 0x3D7FD5ull

bool kvm_x86_canonical(uint64_t va)
{
    uint64_t top = va >> 47;
    return top == 0 || top == 0x1FFFFull;
}

/* DR7 LEN field for a watch length the caller has checked (1, 2, 4, 8). */
static uint64_t dr7_len(uint64_t len)
{
    switch (len) {
    case 2:
        return 0x1;
    case 4:
        return 0x3;
    case 8:
        return 0x2;
    default:
        return 0x0;
    }
}

int kvm_x86_dr_encode(const struct vcpu_debug *d, uint64_t dr[X86_DR_SLOTS], uint64_t *dr7)
{
    memset(dr, 0, X86_DR_SLOTS * sizeof(dr[0]));
    *dr7 = 0;
    if (d->nbp > X86_DR_SLOTS) {
        return err_set("%u hardware breakpoints and watchpoints asked for; x86 has %d debug "
                       "registers (DR0-DR3) shared by both",
                       d->nbp, X86_DR_SLOTS);
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < d->nbp; i++) {
        const struct debug_bp *b = &d->bp[i];
        uint64_t rw;
        switch (b->kind) {
        case DEBUG_BP_EXEC:
            rw = X86_DR7_RW_EXEC;
            break;
        case DEBUG_WATCH_WRITE:
            rw = X86_DR7_RW_WRITE;
            break;
        case DEBUG_WATCH_ACCESS:
            rw = X86_DR7_RW_ACCESS;
            break;
        case DEBUG_WATCH_READ:
            return err_set("x86 debug registers cannot watch reads alone (only writes, or reads "
                           "and writes): use an access watchpoint (awatch)");
        default:
            return err_set("unknown breakpoint kind %d", (int)b->kind);
        }
        if (!kvm_x86_canonical(b->addr)) {
            return err_set("breakpoint address 0x%llx is not a canonical x86_64 address",
                           (unsigned long long)b->addr);
        }
        uint64_t len = 0;
        if (b->kind != DEBUG_BP_EXEC) {
            if (!arch_gdb_watch_ok(b->addr, b->len)) {
                return err_set("x86 cannot watch %llu bytes at 0x%llx: the length must be 1, 2, "
                               "4 or 8 and the address aligned to it",
                               (unsigned long long)b->len, (unsigned long long)b->addr);
            }
            len = dr7_len(b->len);
        }
        dr[i] = b->addr;
        v |= X86_DR7_G(i) | rw << X86_DR7_RW_SHIFT(i) | len << X86_DR7_LEN_SHIFT(i);
    }
    if (v != 0) {
        v |= X86_DR7_GE | X86_DR7_FIXED1;
    }
    *dr7 = v;
    return 0;
}

int kvm_x86_dr6_slot(uint64_t dr6, uint64_t dr7)
{
    for (int i = 0; i < X86_DR_SLOTS; i++) {
        /* Either enable bit (local or global) arms the slot. */
        uint64_t enabled = dr7 & (3ull << (2 * i));
        if (enabled != 0 && (dr6 & X86_DR6_B(i)) != 0) {
            return i;
        }
    }
    return -1;
}

/* The x87 tag (0 valid, 1 zero, 2 special) of an 80-bit extended-precision value. */
static unsigned ext80_tag(const uint8_t *r)
{
    uint64_t mant;
    memcpy(&mant, r, 8); /* little endian host: x86 */
    unsigned exp = (unsigned)(r[8] | (r[9] << 8)) & 0x7FFF;
    if (exp == 0x7FFF) {
        return 2; /* infinity or NaN */
    }
    if (exp == 0) {
        return mant == 0 ? 1 : 2; /* zero, or denormal */
    }
    return (mant >> 63) ? 0 : 2; /* without the integer bit: unnormal */
}

uint16_t kvm_x86_ftw_expand(uint8_t ftwx, uint16_t fsw, const uint8_t *st)
{
    unsigned top = (fsw >> 11) & 7;
    uint16_t ftw = 0;
    for (unsigned i = 0; i < 8; i++) {
        unsigned tag = 3;
        if (ftwx & (1u << i)) {
            tag = ext80_tag(st + 16 * ((i - top) & 7));
        }
        ftw |= (uint16_t)(tag << (2 * i));
    }
    return ftw;
}

uint8_t kvm_x86_ftw_abridge(uint16_t ftw)
{
    uint8_t ftwx = 0;
    for (unsigned i = 0; i < 8; i++) {
        if (((ftw >> (2 * i)) & 3) != 3) {
            ftwx |= (uint8_t)(1u << i);
        }
    }
    return ftwx;
}

uint64_t kvm_x86_rflags_from_gdb(uint32_t eflags)
{
    return ((uint64_t)eflags & RFLAGS_WRITABLE) | X86_RFLAGS_FIXED1;
}
