/*
 * cases_debug.c: the arm64 driver's debugging cases: the KVM backend's debug calls
 * (backend_debug_probe, backend_vcpu_set_debug, backend_vcpu_get/set_regs and the VCPU_EXIT_DEBUG
 * stops) driven directly, without the GDB stub, on a vCPU that runs a few hand-assembled
 * instructions in chyve's own aarch64 boot state (translation tables, EL1h, MMU on); and the
 * GDB register file of gdb_aarch64.c (debug_arch).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "arch.h"
#include "backend.h"
#include "err.h"
#include "gdb_regs.h"
#include "guest_mem.h"
#include "iobus.h"
#include "loader/layout.h"
#include "vm_config.h"

#define BASE 0x10000000ull /* guest RAM at the interface-v1 start */
#define RAM (16ull << 20)
#define ENTRY (BASE + LAYOUT_KERNEL_OFFSET) /* identity mapped, like every kernel page */
#define TARGET (ENTRY + 0x800)              /* the doubleword the code stores to and loads */
#define STOP_TIMEOUT_S 20

/* The guest (PCs as offsets from ENTRY); x3 = TARGET is set through backend_vcpu_set_regs. */
static const uint32_t code[] = {
    0xd2800020, /* 0x00 movz x0, #1 */
    0xd2800041, /* 0x04 movz x1, #2 */
    0x8b010002, /* 0x08 add x2, x0, x1 */
    0xf9000062, /* 0x0c str x2, [x3] */
    0xd4200000, /* 0x10 brk #0 */
    0xf9400065, /* 0x14 ldr x5, [x3] */
    0xd28000e4, /* 0x18 movz x4, #7 */
    0x14000000, /* 0x1c b . */
};

static struct guest_mem mem;
static struct iobus *bus;
static struct backend_vm *vm;
static struct backend_vcpu *vcpu;
static struct vm_config cfg = {.ncpus = 1, .mem_size = RAM, .out_fd = -1};

static void setup(void)
{
    cr_assert_eq(guest_mem_init(&mem, BASE, RAM), 0, "%s", err_msg());
    struct layout l = {
        .guest_base = BASE,
        .mem_size = RAM,
        .kernel_start = ENTRY,
        .kernel_end = ENTRY + 0x1000,
        .entry = ENTRY,
        .boot_info = BASE + LAYOUT_BOOT_INFO_OFFSET,
        .fdt = BASE + LAYOUT_FDT_OFFSET,
        .pt_root = BASE + LAYOUT_PT_ROOT_OFFSET,
        .gdt = BASE + LAYOUT_GDT_OFFSET,
        .stack = ENTRY - LAYOUT_STACK_SIZE,
    };
    cr_assert_eq(arch_setup_guest(&mem, &l), 0, "%s", err_msg());
    cr_assert_eq(guest_mem_write(&mem, ENTRY, code, sizeof(code)), 0);
    bus = iobus_create();
    cr_assert_not_null(bus);
    cr_assert_eq(backend_vm_create(&mem, &cfg, bus, &vm), 0, "%s", err_msg());
    cr_assert_eq(backend_vcpu_create(vm, 0, &l, &vcpu), 0, "%s", err_msg());
}

static void teardown(void)
{
    backend_vcpu_destroy(vcpu);
    backend_vm_destroy(vm);
    if (bus != NULL) {
        iobus_destroy(bus);
    }
    guest_mem_fini(&mem);
}

TestSuite(debug, .init = setup, .fini = teardown, .timeout = 120);

/* Kicks the vCPU if a run has not returned within STOP_TIMEOUT_S (the guest ends in `b .`). */
static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond = PTHREAD_COND_INITIALIZER;
static bool wd_done;

static void *watchdog(void *arg)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STOP_TIMEOUT_S;
    pthread_mutex_lock(&wd_lock);
    while (!wd_done) {
        if (pthread_cond_timedwait(&wd_cond, &wd_lock, &until) != 0) {
            backend_vcpu_kick(arg);
            break;
        }
    }
    pthread_mutex_unlock(&wd_lock);
    return NULL;
}

/* Runs the vCPU to its next exit, which must be the debug stop `why` at ENTRY + off. */
static struct vcpu_exit run_to(enum debug_stop why, uint64_t off, const char *what)
{
    static const char *const names[] = {"step", "sw breakpoint", "hw breakpoint", "watchpoint"};
    pthread_t t;
    wd_done = false;
    cr_assert_eq(pthread_create(&t, NULL, watchdog, vcpu), 0);
    struct vcpu_exit e;
    int rc = backend_vcpu_run(vcpu, &e);
    pthread_mutex_lock(&wd_lock);
    wd_done = true;
    pthread_cond_signal(&wd_cond);
    pthread_mutex_unlock(&wd_lock);
    pthread_join(t, NULL);
    cr_assert_eq(rc, 0, "%s: run failed: %s", what, err_msg());
    cr_assert_neq(e.kind, VCPU_EXIT_KICKED, "%s: no stop within %d s", what, STOP_TIMEOUT_S);
    cr_assert_eq(e.kind, VCPU_EXIT_DEBUG, "%s: exit kind %d, want a debug stop", what, e.kind);
    cr_assert_eq(e.debug, why, "%s: stopped for a %s at 0x%llx, want a %s", what,
                 e.debug <= DEBUG_STOP_WATCH ? names[e.debug] : "?", (unsigned long long)e.addr,
                 names[why]);
    cr_assert_eq(e.addr, ENTRY + off, "%s: stopped at pc 0x%llx, want 0x%llx", what,
                 (unsigned long long)e.addr, (unsigned long long)(ENTRY + off));
    return e;
}

static uint64_t reg64(const uint8_t *regs, unsigned off)
{
    uint64_t x;
    memcpy(&x, regs + off, sizeof(x));
    return x;
}

static void set64(uint8_t *regs, unsigned off, uint64_t x)
{
    memcpy(regs + off, &x, sizeof(x));
}

static void get_regs(uint8_t *regs)
{
    cr_assert_eq(backend_vcpu_get_regs(vcpu, regs, A64_GDB_REGS_SIZE), 0, "%s", err_msg());
}

static void set_regs(const uint8_t *regs)
{
    cr_assert_eq(backend_vcpu_set_regs(vcpu, regs, A64_GDB_REGS_SIZE), 0, "%s", err_msg());
}

static void set_debug(const struct vcpu_debug *d)
{
    cr_assert_eq(backend_vcpu_set_debug(vcpu, d), 0, "%s", err_msg());
}

/* The probe's answer under this KVM, printed for the report; single-step and BRK must exist. */
Test(debug, probe)
{
    struct backend_debug_caps caps;
    cr_assert_eq(backend_debug_probe(vm, &caps), 0, "%s", err_msg());
    cr_log_info("KVM debug caps: %u hw breakpoints, %u hw watchpoints, sw bp %d, step %d%s%s",
                caps.hw_breakpoints, caps.hw_watchpoints, caps.sw_breakpoints, caps.single_step,
                caps.missing ? ", missing: " : "", caps.missing ? caps.missing : "");
    cr_assert(caps.single_step && caps.sw_breakpoints);
    cr_assert_leq(caps.hw_breakpoints, VCPU_DEBUG_MAX_BP);
    cr_assert_leq(caps.hw_watchpoints, VCPU_DEBUG_MAX_BP);
    cr_assert_not(caps.hw_shared);
}

/* What the hardware cannot do is refused before KVM sees it. */
Test(debug, refused)
{
    struct backend_debug_caps caps;
    cr_assert_eq(backend_debug_probe(vm, &caps), 0);
    struct vcpu_debug d = {.nbp = 1, .bp = {{ENTRY + 2, 4, DEBUG_BP_EXEC}}};
    cr_assert_eq(backend_vcpu_set_debug(vcpu, &d), -1, "a misaligned breakpoint was accepted");
    d.bp[0] = (struct debug_bp){TARGET + 6, 4, DEBUG_WATCH_WRITE};
    cr_assert_eq(backend_vcpu_set_debug(vcpu, &d), -1, "a watch across a doubleword passed");
    d.bp[0] = (struct debug_bp){TARGET, 0, DEBUG_WATCH_WRITE};
    cr_assert_eq(backend_vcpu_set_debug(vcpu, &d), -1, "a zero-length watch was accepted");
    d.bp[0] = (struct debug_bp){0x00F0000000000000ull, 4, DEBUG_BP_EXEC};
    cr_assert_eq(backend_vcpu_set_debug(vcpu, &d), -1, "a non-canonical address was accepted");
    d.bp[0] = (struct debug_bp){ENTRY, 4, (enum debug_bp_kind)42};
    cr_assert_eq(backend_vcpu_set_debug(vcpu, &d), -1, "an unknown kind was accepted");
    d.nbp = caps.hw_breakpoints + 1;
    for (unsigned i = 0; i < d.nbp && i < VCPU_DEBUG_MAX_BP; i++) {
        d.bp[i] = (struct debug_bp){ENTRY + 4 * i, 4, DEBUG_BP_EXEC};
    }
    if (d.nbp <= VCPU_DEBUG_MAX_BP) {
        cr_assert_eq(backend_vcpu_set_debug(vcpu, &d), -1, "more breakpoints than slots passed");
    }
    d.nbp = VCPU_DEBUG_MAX_BP + 1;
    cr_assert_eq(backend_vcpu_set_debug(vcpu, &d), -1, "nbp beyond the array was accepted");
    struct vcpu_debug off = {0};
    set_debug(&off);
}

/*
 * The register file, then every stop in one run of the guest: step, hardware breakpoint (and
 * no second stop there on resume), write watchpoint, BRK, read watchpoint, steps.
 */
Test(debug, stops)
{
    struct backend_debug_caps caps;
    cr_assert_eq(backend_debug_probe(vm, &caps), 0);
    uint8_t regs[A64_GDB_REGS_SIZE];
    get_regs(regs);
    uint32_t cpsr;
    memcpy(&cpsr, regs + A64_GDB_OFF_CPSR, sizeof(cpsr));
    cr_assert_eq(reg64(regs, A64_GDB_OFF_PC), ENTRY, "pc 0x%llx",
                 (unsigned long long)reg64(regs, A64_GDB_OFF_PC));
    cr_assert_eq(cpsr & 0xF, 5, "cpsr 0x%x: want EL1h", cpsr);
    /* GDB's sp is the one in use: SP_EL1 at EL1h, set to the boot stack by chyve. */
    cr_assert_eq(reg64(regs, A64_GDB_OFF_SP), ENTRY - LAYOUT_STACK_SIZE, "sp 0x%llx",
                 (unsigned long long)reg64(regs, A64_GDB_OFF_SP));

    /* Registers written through the file reach the vCPU, the 128-bit ones included. */
    set64(regs, A64_GDB_OFF_X(3), TARGET);
    set64(regs, A64_GDB_OFF_X(5), 0x5555);
    for (unsigned i = 0; i < 16; i++) {
        regs[A64_GDB_OFF_V(7) + i] = (uint8_t)(0xA0 + i);
    }
    set_regs(regs);
    uint8_t back[A64_GDB_REGS_SIZE];
    get_regs(back);
    cr_assert_eq(memcmp(regs, back, sizeof(regs)), 0, "the register file did not round-trip");

    struct vcpu_debug d = {.step = true};
    set_debug(&d);
    run_to(DEBUG_STOP_STEP, 0x04, "single-step");
    get_regs(regs);
    cr_assert_eq(reg64(regs, A64_GDB_OFF_X(0)), 1, "x0 after one step");
    cr_assert_eq(reg64(regs, A64_GDB_OFF_X(1)), 0, "x1 before its instruction");

    if (caps.hw_breakpoints == 0 || caps.hw_watchpoints == 0) {
        cr_skip_test("no hardware slots: %s", caps.missing ? caps.missing : "?");
    }
    d = (struct vcpu_debug){
        .nbp = 2,
        .bp = {{ENTRY + 0x08, 4, DEBUG_BP_EXEC}, {TARGET, 8, DEBUG_WATCH_WRITE}},
    };
    set_debug(&d);
    run_to(DEBUG_STOP_HW_BREAKPOINT, 0x08, "hw breakpoint");
    get_regs(regs);
    cr_assert_eq(reg64(regs, A64_GDB_OFF_X(1)), 2, "x1 at the breakpoint");
    cr_assert_eq(reg64(regs, A64_GDB_OFF_X(2)), 0, "x2 before the breakpoint's instruction");
    /* Set again unchanged, as a stub may: resuming must not stop at 0x08 again. */
    set_debug(&d);
    struct vcpu_exit e = run_to(DEBUG_STOP_WATCH, 0x0c, "write watchpoint");
    cr_assert(e.data >= TARGET && e.data < TARGET + 8, "watch address 0x%llx",
              (unsigned long long)e.data);
    uint64_t v = 1;
    cr_assert_eq(guest_mem_read(&mem, TARGET, &v, sizeof(v)), 0);
    cr_assert_eq(v, 0, "the watched store happened before the stop");
    get_regs(regs);
    cr_assert_eq(reg64(regs, A64_GDB_OFF_X(2)), 3, "x2 after the step over the breakpoint");

    d = (struct vcpu_debug){.sw_breakpoints = true};
    set_debug(&d);
    run_to(DEBUG_STOP_SW_BREAKPOINT, 0x10, "brk #0");
    cr_assert_eq(guest_mem_read(&mem, TARGET, &v, sizeof(v)), 0);
    cr_assert_eq(v, 3, "the store before the brk");

    /* Past the brk, as GDB does, and a read watchpoint on the 4 upper bytes. */
    get_regs(regs);
    set64(regs, A64_GDB_OFF_PC, ENTRY + 0x14);
    set_regs(regs);
    d = (struct vcpu_debug){.nbp = 1, .bp = {{TARGET + 4, 4, DEBUG_WATCH_READ}}};
    set_debug(&d);
    e = run_to(DEBUG_STOP_WATCH, 0x14, "read watchpoint");
    cr_assert(e.data >= TARGET && e.data < TARGET + 8, "watch address 0x%llx",
              (unsigned long long)e.data);
    d = (struct vcpu_debug){.step = true};
    set_debug(&d);
    run_to(DEBUG_STOP_STEP, 0x18, "step over the load");
    run_to(DEBUG_STOP_STEP, 0x1c, "step");
    get_regs(regs);
    cr_assert_eq(reg64(regs, A64_GDB_OFF_X(5)), 3, "x5 loaded");
    cr_assert_eq(reg64(regs, A64_GDB_OFF_X(4)), 7, "x4");
    for (unsigned i = 0; i < 16; i++) {
        cr_assert_eq(regs[A64_GDB_OFF_V(7) + i], 0xA0 + i, "v7 byte %u", i);
    }

    /* Back before the breakpoint: stepped over once, it is armed again and stops again. */
    set64(regs, A64_GDB_OFF_PC, ENTRY + 0x04);
    set_regs(regs);
    d = (struct vcpu_debug){.nbp = 1, .bp = {{ENTRY + 0x08, 4, DEBUG_BP_EXEC}}};
    set_debug(&d);
    run_to(DEBUG_STOP_HW_BREAKPOINT, 0x08, "hw breakpoint, second time");
    set64(regs, A64_GDB_OFF_PC, ENTRY + 0x04);
    set_regs(regs);
    run_to(DEBUG_STOP_HW_BREAKPOINT, 0x08, "hw breakpoint after a PC change");
}

/* arch_gdb (gdb_aarch64.c): GDB's numbering, packed sizes, brk #0 and the watch rule. */
Test(debug_arch, register_file)
{
    cr_assert_eq(arch_gdb.nregs, 68);
    cr_assert_eq(arch_gdb.regs_size, 788);
    size_t off = 0;
    for (unsigned n = 0; n < arch_gdb.nregs; n++) {
        cr_assert_eq(arch_gdb.reg_off[n], off, "register %u at %u, want %zu", n,
                     arch_gdb.reg_off[n], off);
        unsigned want = n <= 32 ? 8 : n == 33 || n >= 66 ? 4 : 16;
        cr_assert_eq(arch_gdb.reg_size[n], want, "register %u size", n);
        off += arch_gdb.reg_size[n];
    }
    cr_assert_eq(off, arch_gdb.regs_size);
    cr_assert_eq(arch_gdb.pc_regnum, 32);
    cr_assert_eq(arch_gdb.sp_regnum, 31);
    uint32_t insn;
    memcpy(&insn, arch_gdb.bp_insn, sizeof(insn));
    cr_assert_eq(insn, 0xd4200000u);
    cr_assert_eq(arch_gdb.bp_len, 4);
    cr_assert_not_null(strstr(arch_gdb.target_xml, "<architecture>aarch64</architecture>"));
    cr_assert_not_null(strstr(arch_gdb.target_xml, "\"org.gnu.gdb.aarch64.core\""));
    cr_assert_not_null(strstr(arch_gdb.target_xml, "\"org.gnu.gdb.aarch64.fpu\""));
    cr_assert_not_null(strstr(arch_gdb.target_xml, "<reg name=\"v31\" bitsize=\"128\""));
    cr_assert(arch_gdb_watch_ok(0x1000, 8) && arch_gdb_watch_ok(0x1007, 1));
    cr_assert(arch_gdb_watch_ok(0x1002, 6) && arch_gdb_watch_ok(0x1004, 3));
    cr_assert_not(arch_gdb_watch_ok(0x1000, 0) || arch_gdb_watch_ok(0x1000, 9));
    cr_assert_not(arch_gdb_watch_ok(0x1004, 5) || arch_gdb_watch_ok(0x1007, 2));
    cr_assert_not(arch_gdb_watch_ok(UINT64_MAX, 1ull << 63));
}
