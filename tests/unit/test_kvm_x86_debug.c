/*
 * test_kvm_x86_debug.c: the x86_64 KVM debugger support: DR6/DR7, tag-word and RFLAGS bit logic
 * (kvm_x86_64_debug_bits.c), the GDB register layout (gdb_x86.c), and on a real /dev/kvm the
 * probe, single-step, hardware breakpoints and the register file of a 64-bit guest.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include "loader/layout.h"
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
    cr_assert_eq(kvm_x86_ftw_expand(0, 0, &st[0][0]), 0xFFFF, "all empty");
    /* One fld: TOP = 7, ST(0) is physical register 7. */
    uint16_t fsw = 7 << 11;
    ext80(st[0], 0x8000000000000000ull, 0x3FFF); /* 1.0 */
    cr_assert_eq(kvm_x86_ftw_expand(0x80, fsw, &st[0][0]), 0x3FFF);
    ext80(st[0], 0, 0); /* +0.0 */
    cr_assert_eq(kvm_x86_ftw_expand(0x80, fsw, &st[0][0]), 0x7FFF);
    ext80(st[0], 0x8000000000000000ull, 0xFFFF); /* -infinity */
    cr_assert_eq(kvm_x86_ftw_expand(0x80, fsw, &st[0][0]), 0xBFFF);
    ext80(st[0], 1, 0); /* denormal */
    cr_assert_eq(kvm_x86_ftw_expand(0x80, fsw, &st[0][0]), 0xBFFF);
    ext80(st[0], 0x4000000000000000ull, 0x3FFF); /* unnormal: no integer bit */
    cr_assert_eq(kvm_x86_ftw_expand(0x80, fsw, &st[0][0]), 0xBFFF);
    /* TOP = 6: ST(0) is physical 6, ST(1) physical 7. */
    ext80(st[0], 0, 0);
    ext80(st[1], 0x8000000000000000ull, 0x4000); /* 2.0 */
    cr_assert_eq(kvm_x86_ftw_expand(0xC0, 6 << 11, &st[0][0]), 0x1FFF);
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

/* --- the backend on a real /dev/kvm --------------------------------------------------------- */

#define MEM (16ull << 20)
#define ENTRY LAYOUT_KERNEL_OFFSET
#define AT_STORE (ENTRY + 3) /* mov [rip + 0xF6], rax: writes DATA */
#define AT_LOOP (ENTRY + 10) /* jmp $ */
#define DATA (ENTRY + 0x100)

static const uint8_t guest_code[] = {
    0x90, 0x90, 0x90,                         /* nop; nop; nop */
    0x48, 0x89, 0x05, 0xF6, 0x00, 0x00, 0x00, /* mov [rip + 0xF6], rax */
    0xEB, 0xFE,                               /* jmp $ */
};

static struct guest_mem mem;
static struct vm_config cfg;
static struct layout lay;
static struct backend_vm *vm;
static struct backend_vcpu *v;
static struct backend_debug_caps caps;
static double probe_ms;

static void kvm_setup(void)
{
    vm = NULL;
    v = NULL;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        cr_skip_test("cannot open /dev/kvm read-write: %s", strerror(errno));
    }
    close(fd);
    cr_assert_eq(guest_mem_init(&mem, 0, MEM), 0, "%s", err_msg());
    memset(&cfg, 0, sizeof(cfg));
    cfg.ncpus = 1;
    memset(&lay, 0, sizeof(lay));
    lay.mem_size = MEM;
    lay.kernel_start = ENTRY;
    lay.kernel_end = ENTRY + 0x1000;
    lay.entry = ENTRY;
    lay.boot_info = LAYOUT_BOOT_INFO_OFFSET;
    lay.fdt = LAYOUT_FDT_OFFSET;
    lay.pt_root = LAYOUT_PT_ROOT_OFFSET;
    lay.gdt = LAYOUT_GDT_OFFSET;
    lay.stack = ENTRY - LAYOUT_STACK_SIZE;
    cr_assert_eq(arch_setup_guest(&mem, &lay), 0, "%s", err_msg());
    cr_assert_eq(guest_mem_write(&mem, ENTRY, guest_code, sizeof(guest_code)), 0);
    cr_assert_eq(backend_vm_create(&mem, &cfg, NULL, &vm), 0, "%s", err_msg());
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(backend_debug_probe(vm, &caps), 0, "%s", err_msg());
    clock_gettime(CLOCK_MONOTONIC, &t1);
    probe_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    cr_assert_eq(backend_vcpu_create(vm, 0, &lay, &v), 0, "%s", err_msg());
}

static void kvm_teardown(void)
{
    backend_vcpu_destroy(v);
    backend_vm_destroy(vm);
    if (vm != NULL) {
        guest_mem_fini(&mem);
    }
}

TestSuite(kvm_debug, .init = kvm_setup, .fini = kvm_teardown);

/* Runs once and expects a debug stop of kind `why` at pc. */
static void expect_stop(enum debug_stop why, uint64_t pc)
{
    struct vcpu_exit e;
    cr_assert_eq(backend_vcpu_run(v, &e), 0, "%s", err_msg());
    cr_assert_eq(e.kind, VCPU_EXIT_DEBUG, "exit kind %d (%s)", e.kind, err_msg());
    cr_assert_eq(e.debug, why, "stop %d at 0x%llx", e.debug, (unsigned long long)e.addr);
    cr_assert_eq(e.addr, pc, "pc 0x%llx, want 0x%llx", (unsigned long long)e.addr,
                 (unsigned long long)pc);
}

static uint64_t reg64(const uint8_t *buf, unsigned off)
{
    return le64_get(buf + off);
}

Test(kvm_debug, probe_finds_what_this_host_delivers)
{
    cr_log_info("debug probe: %.2f ms; step %d, hw breakpoints %u, watchpoints %u, int3 %d; %s",
                probe_ms, caps.single_step, caps.hw_breakpoints, caps.hw_watchpoints,
                caps.sw_breakpoints, caps.missing ? caps.missing : "nothing missing");
    /* Single-step and execution breakpoints work on real and nested KVM alike (ABI §13). */
    cr_assert(caps.single_step);
    cr_assert_eq(caps.hw_breakpoints, 4);
    cr_assert(caps.hw_shared);
    cr_assert(caps.hw_watchpoints == 0 || caps.hw_watchpoints == 4);
    cr_assert_eq(caps.missing == NULL, caps.sw_breakpoints && caps.hw_watchpoints == 4);
    cr_assert_lt(probe_ms, 50.0, "the probe took %.2f ms", probe_ms);
}

Test(kvm_debug, single_step_stops_after_each_instruction)
{
    struct vcpu_debug d = {.step = true};
    cr_assert_eq(backend_vcpu_set_debug(v, &d), 0, "%s", err_msg());
    expect_stop(DEBUG_STOP_STEP, ENTRY + 1);
    expect_stop(DEBUG_STOP_STEP, ENTRY + 2);
    expect_stop(DEBUG_STOP_STEP, AT_STORE);
    expect_stop(DEBUG_STOP_STEP, AT_LOOP);
    expect_stop(DEBUG_STOP_STEP, AT_LOOP); /* jmp $ */
}

Test(kvm_debug, hw_breakpoint_resumes_past_itself_once)
{
    struct vcpu_debug d = {.nbp = 2,
                           .bp = {{.addr = ENTRY + 2, .len = 1, .kind = DEBUG_BP_EXEC},
                                  {.addr = AT_LOOP, .len = 1, .kind = DEBUG_BP_EXEC}}};
    cr_assert_eq(backend_vcpu_set_debug(v, &d), 0, "%s", err_msg());
    expect_stop(DEBUG_STOP_HW_BREAKPOINT, ENTRY + 2);
    /* Resuming must not stop at ENTRY + 2 again (the backend steps over it); the store runs. */
    expect_stop(DEBUG_STOP_HW_BREAKPOINT, AT_LOOP);
    /* The step over covers one instruction: jmp $ comes back to the breakpoint. */
    expect_stop(DEBUG_STOP_HW_BREAKPOINT, AT_LOOP);
    uint8_t buf[X86_GDB_REGS_SIZE];
    cr_assert_eq(backend_vcpu_get_regs(v, buf, sizeof(buf)), 0, "%s", err_msg());
    cr_assert_eq(reg64(buf, X86_GDB_OFF_RIP), AT_LOOP);
}

Test(kvm_debug, step_from_a_hw_breakpoint_runs_its_instruction)
{
    struct vcpu_debug d = {.nbp = 1, .bp = {{.addr = ENTRY + 2, .len = 1, .kind = DEBUG_BP_EXEC}}};
    cr_assert_eq(backend_vcpu_set_debug(v, &d), 0, "%s", err_msg());
    expect_stop(DEBUG_STOP_HW_BREAKPOINT, ENTRY + 2);
    d.step = true;
    cr_assert_eq(backend_vcpu_set_debug(v, &d), 0, "%s", err_msg());
    expect_stop(DEBUG_STOP_STEP, AT_STORE);
    expect_stop(DEBUG_STOP_STEP, AT_LOOP);
}

/* A kick from another thread after 30 ms: proves the vCPU ran on without a debug stop. */
static void *kick_later(void *arg)
{
    (void)arg;
    struct timespec ts = {.tv_nsec = 30 * 1000 * 1000};
    nanosleep(&ts, NULL);
    backend_vcpu_kick(v);
    return NULL;
}

Test(kvm_debug, all_zero_state_turns_debugging_off)
{
    struct vcpu_debug d = {
        .step = true, .nbp = 1, .bp = {{.addr = AT_LOOP, .len = 1, .kind = DEBUG_BP_EXEC}}};
    cr_assert_eq(backend_vcpu_set_debug(v, &d), 0, "%s", err_msg());
    expect_stop(DEBUG_STOP_STEP, ENTRY + 1);
    struct vcpu_debug off = {0};
    cr_assert_eq(backend_vcpu_set_debug(v, &off), 0, "%s", err_msg());
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, kick_later, NULL), 0);
    struct vcpu_exit e;
    int r = backend_vcpu_run(v, &e);
    pthread_join(t, NULL);
    cr_assert_eq(r, 0, "%s", err_msg());
    cr_assert_eq(e.kind, VCPU_EXIT_KICKED, "exit kind %d, stop %d at 0x%llx", e.kind, e.debug,
                 (unsigned long long)e.addr);
}

Test(kvm_debug, set_regs_changes_only_what_gdb_changed)
{
    uint8_t before[X86_GDB_REGS_SIZE], buf[X86_GDB_REGS_SIZE], after[X86_GDB_REGS_SIZE];
    cr_assert_eq(backend_vcpu_get_regs(v, before, sizeof(before)), 0, "%s", err_msg());
    cr_assert_eq(reg64(before, X86_GDB_OFF_RIP), ENTRY);
    cr_assert_eq(reg64(before, X86_GDB_OFF_GPR(X86_GDB_RSP)), lay.stack);
    cr_assert_eq(reg64(before, X86_GDB_OFF_GPR(X86_GDB_RDI)), lay.boot_info);
    cr_assert_eq(le32_get(before + X86_GDB_OFF_SEG(0)), 0x08, "cs");
    cr_assert_eq(le32_get(before + X86_GDB_OFF_EFLAGS) & 2, 2);
    cr_assert_eq(le32_get(before + X86_GDB_OFF_FPCTL(2)), 0xFFFF, "x87 registers empty");
    /* Writing back what was read changes nothing. */
    cr_assert_eq(backend_vcpu_set_regs(v, before, sizeof(before)), 0, "%s", err_msg());
    cr_assert_eq(backend_vcpu_get_regs(v, after, sizeof(after)), 0, "%s", err_msg());
    cr_assert_arr_eq(after, before, sizeof(before));

    memcpy(buf, before, sizeof(buf));
    le64_put(buf + X86_GDB_OFF_GPR(X86_GDB_RAX), 0x1122334455667788ull);
    le64_put(buf + X86_GDB_OFF_GPR(X86_GDB_R8 + 7), 0xF15ull);
    le64_put(buf + X86_GDB_OFF_FS_BASE, 0x7000);
    memset(buf + X86_GDB_OFF_XMM(3), 0xA5, 16);
    le32_put(buf + X86_GDB_OFF_MXCSR, 0x1F80 | 0x6000); /* round toward zero */
    cr_assert_eq(backend_vcpu_set_regs(v, buf, sizeof(buf)), 0, "%s", err_msg());
    cr_assert_eq(backend_vcpu_get_regs(v, after, sizeof(after)), 0, "%s", err_msg());
    for (unsigned i = 0; i < sizeof(buf); i++) {
        cr_assert_eq(after[i], buf[i], "byte %u: 0x%02x, wrote 0x%02x", i, after[i], buf[i]);
    }

    /* The guest sees the new RAX: one step over the store writes it to DATA. */
    struct vcpu_debug d = {.nbp = 1, .bp = {{.addr = AT_LOOP, .len = 1, .kind = DEBUG_BP_EXEC}}};
    cr_assert_eq(backend_vcpu_set_debug(v, &d), 0, "%s", err_msg());
    expect_stop(DEBUG_STOP_HW_BREAKPOINT, AT_LOOP);
    uint64_t data = 0;
    cr_assert_eq(guest_mem_read_le64(&mem, DATA, &data), 0);
    cr_assert_eq(data, 0x1122334455667788ull);

    /* Moving RIP back re-runs the code. */
    cr_assert_eq(backend_vcpu_get_regs(v, buf, sizeof(buf)), 0, "%s", err_msg());
    le64_put(buf + X86_GDB_OFF_RIP, ENTRY);
    cr_assert_eq(backend_vcpu_set_regs(v, buf, sizeof(buf)), 0, "%s", err_msg());
    struct vcpu_debug s = {.step = true};
    cr_assert_eq(backend_vcpu_set_debug(v, &s), 0, "%s", err_msg());
    expect_stop(DEBUG_STOP_STEP, ENTRY + 1);
}

Test(kvm_debug, set_regs_refuses_hostile_values)
{
    uint8_t before[X86_GDB_REGS_SIZE], buf[X86_GDB_REGS_SIZE], after[X86_GDB_REGS_SIZE];
    cr_assert_eq(backend_vcpu_get_regs(v, before, sizeof(before)), 0, "%s", err_msg());
    cr_assert_eq(backend_vcpu_get_regs(v, buf, 10), -1, "short buffer");
    memcpy(buf, before, sizeof(buf));
    le32_put(buf + X86_GDB_OFF_SEG(0), 0x10);
    cr_assert_eq(backend_vcpu_set_regs(v, buf, sizeof(buf)), -1, "cs selector");
    memcpy(buf, before, sizeof(buf));
    le64_put(buf + X86_GDB_OFF_RIP, 0x0000800000000000ull);
    cr_assert_eq(backend_vcpu_set_regs(v, buf, sizeof(buf)), -1, "non-canonical rip");
    memcpy(buf, before, sizeof(buf));
    le64_put(buf + X86_GDB_OFF_GS_BASE, 0x8000000000000000ull);
    cr_assert_eq(backend_vcpu_set_regs(v, buf, sizeof(buf)), -1, "non-canonical gs_base");
    memcpy(buf, before, sizeof(buf));
    le32_put(buf + X86_GDB_OFF_MXCSR, 0x10000);
    cr_assert_eq(backend_vcpu_set_regs(v, buf, sizeof(buf)), -1, "reserved mxcsr bit");
    cr_assert_eq(backend_vcpu_set_regs(v, buf, 100), -1, "short buffer");
    /* Nothing of the refused writes reached the vCPU; reserved RFLAGS bits are dropped. */
    cr_assert_eq(backend_vcpu_get_regs(v, after, sizeof(after)), 0, "%s", err_msg());
    cr_assert_arr_eq(after, before, sizeof(before));
    memcpy(buf, before, sizeof(buf));
    le32_put(buf + X86_GDB_OFF_EFLAGS, 0xFFC28028u); /* only reserved bits and VM */
    cr_assert_eq(backend_vcpu_set_regs(v, buf, sizeof(buf)), 0, "%s", err_msg());
    cr_assert_eq(backend_vcpu_get_regs(v, after, sizeof(after)), 0, "%s", err_msg());
    cr_assert_eq(le32_get(after + X86_GDB_OFF_EFLAGS), 0x2);
}

Test(kvm_debug, set_debug_refuses_what_x86_cannot_do)
{
    struct vcpu_debug d = {.nbp = 5};
    cr_assert_eq(backend_vcpu_set_debug(v, &d), -1);
    d.nbp = 1;
    d.bp[0] = (struct debug_bp){.addr = DATA, .len = 8, .kind = DEBUG_WATCH_READ};
    cr_assert_eq(backend_vcpu_set_debug(v, &d), -1);
    d.bp[0] = (struct debug_bp){.addr = DATA + 1, .len = 8, .kind = DEBUG_WATCH_WRITE};
    cr_assert_eq(backend_vcpu_set_debug(v, &d), -1);
}

Test(kvm_debug, write_watchpoint_reports_the_data_address)
{
    if (caps.hw_watchpoints == 0) {
        cr_skip_test("this host's KVM does not fire data watchpoints: %s", caps.missing);
    }
    struct vcpu_debug d = {.nbp = 1, .bp = {{.addr = DATA, .len = 8, .kind = DEBUG_WATCH_WRITE}}};
    cr_assert_eq(backend_vcpu_set_debug(v, &d), 0, "%s", err_msg());
    struct vcpu_exit e;
    cr_assert_eq(backend_vcpu_run(v, &e), 0, "%s", err_msg());
    cr_assert_eq(e.kind, VCPU_EXIT_DEBUG);
    cr_assert_eq(e.debug, DEBUG_STOP_WATCH);
    cr_assert_eq(e.data, DATA);
    cr_assert_eq(e.addr, AT_LOOP, "a data breakpoint traps after the store");
}

Test(kvm_debug, int3_stops_at_its_own_address)
{
    if (!caps.sw_breakpoints) {
        cr_skip_test("this host's KVM does not deliver int3: %s", caps.missing);
    }
    uint8_t int3 = 0xCC, nop = 0x90;
    cr_assert_eq(guest_mem_write(&mem, ENTRY + 1, &int3, 1), 0);
    struct vcpu_debug d = {.sw_breakpoints = true};
    cr_assert_eq(backend_vcpu_set_debug(v, &d), 0, "%s", err_msg());
    expect_stop(DEBUG_STOP_SW_BREAKPOINT, ENTRY + 1);
    uint8_t buf[X86_GDB_REGS_SIZE];
    cr_assert_eq(backend_vcpu_get_regs(v, buf, sizeof(buf)), 0, "%s", err_msg());
    cr_assert_eq(reg64(buf, X86_GDB_OFF_RIP), ENTRY + 1, "RIP at the int3, ready to re-execute");
    /* GDB restores the byte and steps: the original instruction runs. */
    cr_assert_eq(guest_mem_write(&mem, ENTRY + 1, &nop, 1), 0);
    d.step = true;
    cr_assert_eq(backend_vcpu_set_debug(v, &d), 0, "%s", err_msg());
    expect_stop(DEBUG_STOP_STEP, ENTRY + 2);
}
