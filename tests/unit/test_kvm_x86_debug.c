/*
 * test_kvm_x86_debug.c: the x86_64 KVM debugger support: DR6/DR7, tag-word and RFLAGS bit logic
 * (kvm_x86_64_debug_bits.c), the GDB register layout (gdb_x86.c), and on a real /dev/kvm the
 * probe, single-step, hardware breakpoints and the register file of a 64-bit guest.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "backend.h"
#include "err.h"
#include "gdb_regs.h"
#include "guest_mem.h"
#include "kvm_x86_64_debug_bits.h"
#include "le.h"
#include "vm_config.h"

/* --- DR7 encoding --------------------------------------------------------------------------- */

Test(dr7, all_zero_state_is_off)
{
    struct vcpu_debug d = {0};
    uint64_t dr[X86_DR_SLOTS] = {1, 2, 3, 4}, dr7 = 99;
    cr_assert_eq(kvm_x86_dr_encode(&d, dr, &dr7), 0, "%s", err_msg());
    cr_assert_eq(dr7, 0);
    for (int i = 0; i < X86_DR_SLOTS; i++) {
        cr_assert_eq(dr[i], 0);
    }
}

Test(dr7, slots_kinds_and_lengths)
{
    struct vcpu_debug d = {
        .nbp = 4,
        .bp = {{.addr = 0x1000, .len = 5, .kind = DEBUG_BP_EXEC}, /* exec ignores len */
               {.addr = 0x2000, .len = 4, .kind = DEBUG_WATCH_WRITE},
               {.addr = 0xffff800000003000ull, .len = 8, .kind = DEBUG_WATCH_ACCESS},
               {.addr = 0x4002, .len = 2, .kind = DEBUG_WATCH_WRITE}},
    };
    uint64_t dr[X86_DR_SLOTS], dr7;
    cr_assert_eq(kvm_x86_dr_encode(&d, dr, &dr7), 0, "%s", err_msg());
    cr_assert_eq(dr[0], 0x1000);
    cr_assert_eq(dr[1], 0x2000);
    cr_assert_eq(dr[2], 0xffff800000003000ull);
    cr_assert_eq(dr[3], 0x4002);
    uint64_t want = 0x2 | 0x8 | 0x20 | 0x80 | 0x200 | 0x400 /* G0-G3, GE, bit 10 */
                    | 0x0ull << 16 | 0x0ull << 18           /* slot 0: exec, 1 byte */
                    | 0x1ull << 20 | 0x3ull << 22           /* slot 1: write, 4 bytes */
                    | 0x3ull << 24 | 0x2ull << 26           /* slot 2: access, 8 bytes */
                    | 0x1ull << 28 | 0x1ull << 30;          /* slot 3: write, 2 bytes */
    cr_assert_eq(dr7, want, "dr7 0x%llx, want 0x%llx", (unsigned long long)dr7,
                 (unsigned long long)want);
}

Test(dr7, one_exec_breakpoint)
{
    struct vcpu_debug d = {.nbp = 1, .bp = {{.addr = 0x401000, .len = 1, .kind = DEBUG_BP_EXEC}}};
    uint64_t dr[X86_DR_SLOTS], dr7;
    cr_assert_eq(kvm_x86_dr_encode(&d, dr, &dr7), 0, "%s", err_msg());
    cr_assert_eq(dr7, 0x602);
    cr_assert_eq(dr[0], 0x401000);
}

/* Every refusal leaves dr7 at 0 and names the reason. */
static void refused(const struct vcpu_debug *d, const char *why)
{
    uint64_t dr[X86_DR_SLOTS], dr7 = 1;
    cr_assert_eq(kvm_x86_dr_encode(d, dr, &dr7), -1, "accepted: %s", why);
    cr_assert_neq(err_msg()[0], '\0');
}

Test(dr7, refuses_what_the_hardware_cannot_do)
{
    struct vcpu_debug d = {.nbp = 5};
    refused(&d, "5 slots");
    d.nbp = VCPU_DEBUG_MAX_BP + 100;
    refused(&d, "absurd slot count");
    d.nbp = 1;
    d.bp[0] = (struct debug_bp){.addr = 0x1000, .len = 4, .kind = DEBUG_WATCH_READ};
    refused(&d, "read-only watch");
    cr_assert(strstr(err_msg(), "awatch") != NULL, "%s", err_msg());
    d.bp[0] = (struct debug_bp){.addr = 0x1000, .len = 3, .kind = DEBUG_WATCH_WRITE};
    refused(&d, "length 3");
    d.bp[0] = (struct debug_bp){.addr = 0x1000, .len = 16, .kind = DEBUG_WATCH_WRITE};
    refused(&d, "length 16");
    d.bp[0] = (struct debug_bp){.addr = 0x1002, .len = 4, .kind = DEBUG_WATCH_ACCESS};
    refused(&d, "misaligned");
    d.bp[0] = (struct debug_bp){.addr = 0x0000800000000000ull, .len = 1, .kind = DEBUG_BP_EXEC};
    refused(&d, "non-canonical");
    d.bp[0] = (struct debug_bp){.addr = 0x1000, .len = 1, .kind = (enum debug_bp_kind)42};
    refused(&d, "unknown kind");
}

/* --- DR6 decoding --------------------------------------------------------------------------- */

Test(dr6, only_enabled_slots_count)
{
    uint64_t fixed = 0xFFFF0FF0ull; /* the active-low bits KVM sets in the reported DR6 */
    uint64_t dr7 = 0x2 | 0x8;       /* slots 0 and 1 */
    cr_assert_eq(kvm_x86_dr6_slot(fixed | X86_DR6_B(1), dr7), 1);
    cr_assert_eq(kvm_x86_dr6_slot(fixed | X86_DR6_B(0) | X86_DR6_B(1), dr7), 0);
    cr_assert_eq(kvm_x86_dr6_slot(fixed | X86_DR6_B(2), dr7), -1, "slot 2 is not enabled");
    cr_assert_eq(kvm_x86_dr6_slot(fixed | X86_DR6_BS, dr7), -1);
    cr_assert_eq(kvm_x86_dr6_slot(fixed | X86_DR6_B(3), 0x40 /* L3 */), 3);
    cr_assert_eq(kvm_x86_dr6_slot(0xF, 0), -1, "debugging off");
}

/* --- x87 tag word --------------------------------------------------------------------------- */

static void ext80(uint8_t *r, uint64_t mant, uint16_t sign_exp)
{
    memset(r, 0, 16);
    le64_put(r, mant);
    le16_put(r + 8, sign_exp);
}

Test(ftw, expands_by_value_class)
{
    uint8_t st[8][16];
    memset(st, 0, sizeof(st));
    cr_assert_eq(kvm_x86_ftw_expand(0, 0, st), 0xFFFF, "all empty");
    /* One fld: TOP = 7, ST(0) is physical register 7. */
    uint16_t fsw = 7 << 11;
    ext80(st[0], 0x8000000000000000ull, 0x3FFF); /* 1.0 */
    cr_assert_eq(kvm_x86_ftw_expand(0x80, fsw, st), 0x3FFF);
    ext80(st[0], 0, 0); /* +0.0 */
    cr_assert_eq(kvm_x86_ftw_expand(0x80, fsw, st), 0x7FFF);
    ext80(st[0], 0x8000000000000000ull, 0xFFFF); /* -infinity */
    cr_assert_eq(kvm_x86_ftw_expand(0x80, fsw, st), 0xBFFF);
    ext80(st[0], 1, 0); /* denormal */
    cr_assert_eq(kvm_x86_ftw_expand(0x80, fsw, st), 0xBFFF);
    ext80(st[0], 0x4000000000000000ull, 0x3FFF); /* unnormal: no integer bit */
    cr_assert_eq(kvm_x86_ftw_expand(0x80, fsw, st), 0xBFFF);
    /* TOP = 6: ST(0) is physical 6, ST(1) physical 7. */
    ext80(st[0], 0, 0);
    ext80(st[1], 0x8000000000000000ull, 0x4000); /* 2.0 */
    cr_assert_eq(kvm_x86_ftw_expand(0xC0, 6 << 11, st), 0x1FFF);
}

Test(ftw, abridges_empty_tags_only)
{
    cr_assert_eq(kvm_x86_ftw_abridge(0xFFFF), 0x00);
    cr_assert_eq(kvm_x86_ftw_abridge(0x0000), 0xFF);
    cr_assert_eq(kvm_x86_ftw_abridge(0x3FFF), 0x80);
    cr_assert_eq(kvm_x86_ftw_abridge(0xBFFF), 0x80, "special is not empty");
    cr_assert_eq(kvm_x86_ftw_abridge(0xFFFC), 0x01);
}

/* --- RFLAGS and canonical addresses --------------------------------------------------------- */

Test(rflags, reserved_bits_dropped_bit1_forced)
{
    cr_assert_eq(kvm_x86_rflags_from_gdb(0), 0x2);
    cr_assert_eq(kvm_x86_rflags_from_gdb(0xFFFFFFFFu), 0x3D7FD7);
    cr_assert_eq(kvm_x86_rflags_from_gdb(0x20000u), 0x2, "VM is not allowed in long mode");
    cr_assert_eq(kvm_x86_rflags_from_gdb(0x10246u), 0x10246, "RF, IF, ZF, PF survive");
}

Test(canonical, sign_extension_of_bit_47)
{
    cr_assert(kvm_x86_canonical(0));
    cr_assert(kvm_x86_canonical(0x00007FFFFFFFFFFFull));
    cr_assert(kvm_x86_canonical(0xFFFF800000000000ull));
    cr_assert(kvm_x86_canonical(~0ull));
    cr_assert_not(kvm_x86_canonical(0x0000800000000000ull));
    cr_assert_not(kvm_x86_canonical(0xFFFF7FFFFFFFFFFFull));
    cr_assert_not(kvm_x86_canonical(0x8000000000000000ull));
}

/* --- arch_gdb ------------------------------------------------------------------------------- */

Test(arch_gdb, register_file_layout)
{
    cr_assert_eq(arch_gdb.nregs, 59);
    cr_assert_eq(arch_gdb.regs_size, 552);
    cr_assert_eq(arch_gdb.pc_regnum, 16);
    cr_assert_eq(arch_gdb.sp_regnum, 7);
    cr_assert_eq(arch_gdb.bp_len, 1);
    cr_assert_eq(arch_gdb.bp_insn[0], 0xCC);
    unsigned off = 0;
    for (unsigned i = 0; i < arch_gdb.nregs; i++) {
        cr_assert_eq(arch_gdb.reg_off[i], off, "register %u", i);
        off += arch_gdb.reg_size[i];
    }
    cr_assert_eq(off, 552);
    cr_assert_eq(arch_gdb.reg_size[X86_GDB_ST0 + 7], 10);
    cr_assert_eq(arch_gdb.reg_size[X86_GDB_XMM0 + 15], 16);
    cr_assert_eq(arch_gdb.reg_off[X86_GDB_GS_BASE], 544);
}

Test(arch_gdb, target_xml_names_every_register)
{
    const char *x = arch_gdb.target_xml;
    cr_assert(strstr(x, "<architecture>i386:x86-64</architecture>") != NULL);
    cr_assert(strstr(x, "org.gnu.gdb.i386.core") && strstr(x, "org.gnu.gdb.i386.sse") &&
              strstr(x, "org.gnu.gdb.i386.segments"));
    unsigned n = 0;
    for (const char *p = x; (p = strstr(p, "<reg ")) != NULL; p++) {
        n++;
    }
    cr_assert_eq(n, 59);
    const char *order[] = {"\"rax\"", "\"rsp\"", "\"r15\"",   "\"rip\"",   "\"eflags\"", "\"gs\"",
                           "\"st7\"", "\"fop\"", "\"xmm15\"", "\"mxcsr\"", "\"gs_base\""};
    const char *last = x;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *p = strstr(last, order[i]);
        cr_assert(p != NULL, "%s missing or out of order", order[i]);
        last = p;
    }
}

Test(arch_gdb, watch_lengths_and_alignment)
{
    cr_assert(arch_gdb_watch_ok(0x1000, 1));
    cr_assert(arch_gdb_watch_ok(0x1001, 1));
    cr_assert(arch_gdb_watch_ok(0x1002, 2));
    cr_assert(arch_gdb_watch_ok(0x1004, 4));
    cr_assert(arch_gdb_watch_ok(0x1008, 8));
    cr_assert_not(arch_gdb_watch_ok(0x1001, 2));
    cr_assert_not(arch_gdb_watch_ok(0x1002, 4));
    cr_assert_not(arch_gdb_watch_ok(0x1004, 8));
    cr_assert_not(arch_gdb_watch_ok(0x1000, 0));
    cr_assert_not(arch_gdb_watch_ok(0x1000, 3));
    cr_assert_not(arch_gdb_watch_ok(0x1000, 16));
}
