/* test_hvf.c: the Hypervisor.framework backend (src/macos-hvf) driven through a scripted fake. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "err.h"
#include "fake_hvf.h"
#include "guest_mem.h"
#include "hvf_priv.h"
#include "iobus.h"
#include "loader/layout.h"
#include "vm.h"

#define BASE 0x10000000ull
#define MEM (16ull << 20)
#define ENTRY 0x10041234ull
#define DABORT_LOWER 0x24
#define DABORT_SAME 0x25

static struct guest_mem mem;
static struct vm_config cfg;
static struct layout lay;
static struct backend_vm *vm;
static struct backend_vcpu *v;

static void init_guest(unsigned ncpus)
{
    fake_hvf_reset();
    cr_assert_eq(guest_mem_init(&mem, BASE, MEM), 0, "%s", err_msg());
    memset(&cfg, 0, sizeof(cfg));
    cfg.ncpus = ncpus;
    memset(&lay, 0, sizeof(lay));
    lay.guest_base = BASE;
    lay.mem_size = MEM;
    lay.kernel_start = BASE + LAYOUT_KERNEL_OFFSET;
    lay.entry = ENTRY;
    lay.boot_info = BASE + LAYOUT_BOOT_INFO_OFFSET;
    lay.fdt = BASE + LAYOUT_FDT_OFFSET;
    lay.pt_root = BASE + LAYOUT_PT_ROOT_OFFSET;
    lay.stack = lay.kernel_start - LAYOUT_STACK_SIZE;
    vm = NULL;
    v = NULL;
}

/* Guest RAM only: tests of VM creation itself. */
static void setup_bare(void)
{
    init_guest(1);
}

/* A VM with one vCPU created on this thread. */
static void setup_vcpu(void)
{
    init_guest(1);
    cr_assert_eq(backend_vm_create(&mem, &cfg, NULL, &vm), 0, "%s", err_msg());
    cr_assert_eq(backend_vcpu_create(vm, 0, &lay, &v), 0, "%s", err_msg());
}

/* A VM without vCPUs. */
static void setup_vm(void)
{
    init_guest(2);
    cr_assert_eq(backend_vm_create(&mem, &cfg, NULL, &vm), 0, "%s", err_msg());
}

static void teardown(void)
{
    backend_vcpu_destroy(v);
    backend_vm_destroy(vm);
    guest_mem_fini(&mem);
}

TestSuite(hvf_vm, .init = setup_bare, .fini = teardown);
TestSuite(hvf_vcpu, .init = setup_vm, .fini = teardown);
TestSuite(hvf_exit, .init = setup_vcpu, .fini = teardown);
TestSuite(hvf_kick, .init = setup_vcpu, .fini = teardown);

/* ESR_EL2 of a data abort: class ec, ISV, SAS (log2 size), SRT, WnR; DFSC = permission fault. */
static uint64_t dabort_esr(unsigned ec, bool isv, unsigned sas, unsigned srt, bool write)
{
    return (uint64_t)ec << 26 | 1ull << 25 | (isv ? 1ull << 24 : 0) | (uint64_t)sas << 22 |
           (uint64_t)srt << 16 | (write ? 1ull << 6 : 0) | 0x0F;
}

/* ESR_EL2 of a trapped MSR (write) / MRS (read) of S<op0>_<op1>_C<crn>_C<crm>_<op2> with Rt. */
static uint64_t sysreg_esr(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2,
                           unsigned rt, bool read)
{
    return 0x18ull << 26 | 1ull << 25 | (uint64_t)op0 << 20 | (uint64_t)op2 << 17 |
           (uint64_t)op1 << 14 | (uint64_t)crn << 10 | (uint64_t)rt << 5 | (uint64_t)crm << 1 |
           (read ? 1 : 0);
}

static uint64_t ec_esr(unsigned ec, uint64_t iss)
{
    return (uint64_t)ec << 26 | 1ull << 25 | iss;
}

/* A value whose every byte differs between registers. */
static uint64_t pattern(unsigned reg)
{
    return 0xF0E1D2C3B4A59687ull ^ (0x0101010101010101ull * (reg + 1));
}

/* Runs the vCPU once; checks that the return code agrees with the exit kind. */
static struct vcpu_exit run(void)
{
    struct vcpu_exit e;
    memset(&e, 0xAA, sizeof(e));
    int rc = backend_vcpu_run(v, &e);
    cr_assert_eq(rc, e.kind == VCPU_EXIT_FAILED ? -1 : 0, "rc %d for exit kind %d", rc, e.kind);
    return e;
}

/* Scripts a plain 8-byte store of X8 to the hypercall window at offset off. */
static void push_hypercall(uint64_t off)
{
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, dabort_esr(DABORT_LOWER, true, 3, 8, true), BASE + off);
}

static void expect_hypercall(struct vcpu_exit e, uint64_t addr, uint64_t data)
{
    cr_assert_eq(e.kind, VCPU_EXIT_HYPERCALL, "kind %d: %s", e.kind, err_msg());
    cr_assert_eq(e.addr, addr, "addr 0x%" PRIx64 ", expected 0x%" PRIx64, e.addr, addr);
    cr_assert_eq(e.data, data, "data 0x%" PRIx64 ", expected 0x%" PRIx64, e.data, data);
}

/* The run failed with exactly msg. */
static void expect_failure(struct vcpu_exit e, const char *msg)
{
    cr_assert_eq(e.kind, VCPU_EXIT_FAILED, "kind %d", e.kind);
    cr_assert_str_eq(err_msg(), msg);
}

/* The run failed with a message containing part. */
static void expect_failure_with(struct vcpu_exit e, const char *part)
{
    cr_assert_eq(e.kind, VCPU_EXIT_FAILED, "kind %d", e.kind);
    cr_assert(strstr(err_msg(), part) != NULL, "message '%s' lacks '%s'", err_msg(), part);
    cr_assert(strchr(err_msg(), '\n') == NULL, "message is not one line");
}

/* ---- VM creation ---- */

Test(hvf_vm, maps_ram_rwx_and_traps_the_first_16k)
{
    cr_assert_eq(backend_vm_create(&mem, &cfg, NULL, &vm), 0, "%s", err_msg());
    cr_assert_eq(fake_hvf.vm_creates, 1);
    cr_assert_eq(fake_hvf.nmaps, 1);
    cr_assert_eq(fake_hvf.maps[0].host, guest_mem_ptr(&mem, BASE, MEM));
    cr_assert_eq(fake_hvf.maps[0].ipa, BASE);
    cr_assert_eq(fake_hvf.maps[0].size, MEM);
    cr_assert_eq(fake_hvf.maps[0].flags, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC);
    cr_assert_eq(fake_hvf.nprotects, 1);
    cr_assert_eq(fake_hvf.protects[0].ipa, BASE);
    cr_assert_eq(fake_hvf.protects[0].size, 0x4000);
    cr_assert_eq(fake_hvf.protects[0].flags, 0);
    cr_assert_eq(fake_hvf.gic_creates, 1);
    cr_assert_eq(fake_hvf.gic_dist_base, 0x08000000);
    cr_assert_eq(fake_hvf.gic_redist_base, 0x080A0000);
    cr_assert_eq(backend_has_pci, false);
    cr_assert_eq(backend_tsc_khz(vm), 0);
    backend_vm_destroy(vm);
    vm = NULL;
    cr_assert_eq(fake_hvf.vm_destroys, 1);
    cr_assert_eq(fake_hvf.configs_released, fake_hvf.configs_created);
    cr_assert_eq(fake_hvf.configs_created, 2); /* vCPU configuration + GIC configuration */
}

Test(hvf_vm, no_gic_is_a_clear_startup_error)
{
    fake_hvf.gic_available = false;
    cr_assert_eq(backend_vm_create(&mem, &cfg, NULL, &vm), -1);
    cr_assert_str_eq(err_msg(), "this macOS has no Hypervisor.framework GIC (macOS 15 or later is "
                                "needed), and Hermit kernels need one");
    cr_assert_eq(fake_hvf.vm_destroys, 1, "the half-built VM is destroyed");
}

Test(hvf_vm, missing_entitlement_is_named)
{
    fake_hvf.vm_create_result = HV_DENIED;
    cr_assert_eq(backend_vm_create(&mem, &cfg, NULL, &vm), -1);
    cr_assert_str_eq(err_msg(), "cannot create a Hypervisor.framework VM: HV_DENIED (is chyve "
                                "signed with the com.apple.security.hypervisor entitlement?)");
    cr_assert_eq(fake_hvf.vm_destroys, 0);
    cr_assert_eq(fake_hvf.nmaps, 0);
}

Test(hvf_vm, gic_that_does_not_fit_the_fdt_is_refused)
{
    fake_hvf.gic_dist_size = 0x20000;
    cr_assert_eq(backend_vm_create(&mem, &cfg, NULL, &vm), -1);
    cr_assert(strstr(err_msg(), "GIC distributor (0x20000 bytes") != NULL, "%s", err_msg());
    cr_assert_eq(fake_hvf.gic_creates, 0);
    cr_assert_eq(fake_hvf.vm_destroys, 1);
}

Test(hvf_vm, redistributors_must_stay_below_guest_ram)
{
    fake_hvf.gic_redist_size = BASE; /* 0x080A0000 + 0x10000000 reaches into RAM */
    cr_assert_eq(backend_vm_create(&mem, &cfg, NULL, &vm), -1);
    cr_assert(strstr(err_msg(), "redistributors") != NULL, "%s", err_msg());
}

/* One byte more than the FDT's range would reach the PCI ECAM window at 0x0900_0000. */
Test(hvf_vm, redistributors_must_stay_below_the_pci_window)
{
    fake_hvf.gic_redist_size = 0xF60000 + 0x20000;
    cr_assert_eq(backend_vm_create(&mem, &cfg, NULL, &vm), -1);
    cr_assert(strstr(err_msg(), "do not fit the 0xf60000 bytes at 0x80a0000") != NULL, "%s",
              err_msg());
}

/* ---- vCPU creation: ABI §5.2 registers ---- */

Test(hvf_vcpu, boot_registers_follow_the_abi)
{
    fake_hvf.sys[HV_SYS_REG_CPACR_EL1] = 0x10; /* the vCPU's value before boot is kept */
    cr_assert_eq(backend_vcpu_create(vm, 1, &lay, &v), 0, "%s", err_msg());
    cr_assert_eq(fake_hvf.pc, ENTRY);
    cr_assert_eq(fake_hvf.x[0], BASE + LAYOUT_BOOT_INFO_OFFSET);
    cr_assert_eq(fake_hvf.x[1], 1);
    cr_assert_eq(fake_hvf.cpsr, 0x3C5);
    cr_assert_eq(fake_hvf.sys[HV_SYS_REG_SP_EL1], BASE + 0x38000);
    cr_assert_eq(fake_hvf.sys[HV_SYS_REG_TTBR0_EL1], BASE + 0x10000);
    cr_assert_eq(fake_hvf.sys[HV_SYS_REG_TTBR1_EL1], 0);
    cr_assert_eq(fake_hvf.sys[HV_SYS_REG_MAIR_EL1], 0x000000FF440C0400ull);
    cr_assert_eq(fake_hvf.sys[HV_SYS_REG_SCTLR_EL1], 0x04D5D91Dull);
    cr_assert_eq(fake_hvf.sys[HV_SYS_REG_CPACR_EL1], 0x300010);
    cr_assert_eq(fake_hvf.sys[HV_SYS_REG_MDSCR_EL1], 0);
    cr_assert_eq((fake_hvf.sys[HV_SYS_REG_TCR_EL1] >> 32) & 7, 2, "IPS = the vCPUs' PARange");
    cr_assert_eq(fake_hvf.sys[HV_SYS_REG_TCR_EL1] & 0x3F, 16, "T0SZ 16: 48-bit VA");
    cr_assert_eq(fake_hvf.sys[HV_SYS_REG_MPIDR_EL1], 0x80000001);
    cr_assert_eq(fake_hvf.sys_order[0], HV_SYS_REG_MPIDR_EL1, "affinity before anything else");
    cr_assert_eq(fake_hvf.wrong_thread, 0);
    cr_assert_eq(fake_hvf.bad_handle, 0);
}

Test(hvf_vcpu, parange_comes_from_id_aa64mmfr0)
{
    backend_vm_destroy(vm);
    fake_hvf_reset();
    fake_hvf.mmfr0 = 0x5; /* 48-bit PA */
    cr_assert_eq(backend_vm_create(&mem, &cfg, NULL, &vm), 0, "%s", err_msg());
    cr_assert_eq(backend_vcpu_create(vm, 0, &lay, &v), 0, "%s", err_msg());
    cr_assert_eq((fake_hvf.sys[HV_SYS_REG_TCR_EL1] >> 32) & 7, 5);
    cr_assert_eq(fake_hvf.sys[HV_SYS_REG_MPIDR_EL1], 0x80000000);
}

Test(hvf_vcpu, failed_register_write_destroys_the_vcpu)
{
    fake_hvf.fail_sys_reg = HV_SYS_REG_SCTLR_EL1;
    struct backend_vcpu *w = NULL;
    cr_assert_eq(backend_vcpu_create(vm, 0, &lay, &w), -1);
    cr_assert_str_eq(err_msg(), "cannot set SCTLR_EL1 to 0x4d5d91d: HV_BAD_ARGUMENT");
    cr_assert_eq(fake_hvf.vcpu_destroys, 1);
    cr_assert_eq(fake_hvf.vcpu_exists, false);
}

Test(hvf_vcpu, id_out_of_range)
{
    struct backend_vcpu *w = NULL;
    cr_assert_eq(backend_vcpu_create(vm, 2, &lay, &w), -1);
    cr_assert_str_eq(err_msg(), "vCPU id 2 out of range (VM has 2 vCPUs)");
    cr_assert_eq(fake_hvf.vcpu_creates, 0);
}

/* ---- syndrome decoding ---- */

Test(hvf_exit, decodes_data_abort_syndromes)
{
    struct hvf_data_abort da;
    hvf_decode_data_abort(0x93C88047, &da); /* str x8, [xN]: ISV, SAS 3, SRT 8, SF, WnR */
    cr_assert(da.isv && da.write && !da.cm && !da.s1ptw);
    cr_assert_eq(da.size, 8);
    cr_assert_eq(da.srt, 8);
    hvf_decode_data_abort(0x93400007, &da); /* ldrh w0: SAS 1, SRT 0, read */
    cr_assert(da.isv && !da.write);
    cr_assert_eq(da.size, 2);
    cr_assert_eq(da.srt, 0);
    hvf_decode_data_abort(0x938001C7, &da); /* SAS 2, CM, S1PTW, WnR */
    cr_assert(da.cm && da.s1ptw && da.write);
    cr_assert_eq(da.size, 4);
    hvf_decode_data_abort(0x92000047, &da); /* no ISV */
    cr_assert(!da.isv);
    cr_assert_eq(hvf_esr_ec(0x93C88047), 0x24);
}

/* ---- hypercall stores ---- */

Test(hvf_exit, stores_of_every_size_and_register_are_hypercalls)
{
    for (unsigned r = 0; r <= 30; r++)
        fake_hvf.x[r] = pattern(r);
    uint64_t pc = ENTRY;
    for (unsigned sas = 0; sas < 4; sas++) {
        unsigned size = 1u << sas;
        uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
        for (unsigned srt = 0; srt <= 31; srt++) {
            uint64_t off = 0x400 + 0x40 * sas + srt;
            fake_hvf_push(HV_EXIT_REASON_EXCEPTION, dabort_esr(DABORT_LOWER, true, sas, srt, true),
                          BASE + off);
            struct vcpu_exit e = run();
            uint64_t want = srt == 31 ? 0 : pattern(srt) & mask; /* register 31 is XZR */
            cr_assert_eq(e.kind, VCPU_EXIT_HYPERCALL, "size %u X%u: %s", size, srt, err_msg());
            cr_assert_eq(e.addr, off, "size %u X%u", size, srt);
            cr_assert_eq(e.data, want, "size %u X%u: data 0x%" PRIx64 ", expected 0x%" PRIx64, size,
                         srt, e.data, want);
            pc += 4;
            cr_assert_eq(fake_hvf.pc, pc, "PC advanced by 4 after size %u X%u", size, srt);
        }
    }
    for (unsigned r = 0; r <= 30; r++)
        cr_assert_eq(fake_hvf.x[r], pattern(r), "X%u unchanged", r);
    cr_assert_eq(fake_hvf.wrong_thread + fake_hvf.bad_handle, 0);
}

Test(hvf_exit, same_el_data_abort_is_handled_too)
{
    fake_hvf.x[8] = 0x10003FC50ull;
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, dabort_esr(DABORT_SAME, true, 3, 8, true),
                  BASE + 0x880);
    expect_hypercall(run(), 0x880, 0x10003FC50ull);
    cr_assert_eq(fake_hvf.pc, ENTRY + 4);
}

Test(hvf_exit, window_edges)
{
    fake_hvf.x[8] = 42;
    push_hypercall(0);
    expect_hypercall(run(), 0, 42);
    push_hypercall(0x3FF8);
    expect_hypercall(run(), 0x3FF8, 42);
    push_hypercall(0x4000); /* first byte of RAM proper: mapped, so this fault is not ours */
    struct vcpu_exit e = run();
    expect_failure_with(e, "unexpected stage-2 fault on guest RAM at 0x10004000 (EC 0x24");
    cr_assert_eq(fake_hvf.pc, ENTRY + 8, "no PC change on failure");
}

Test(hvf_exit, stores_outside_ram_fail)
{
    uint64_t esr = dabort_esr(DABORT_LOWER, true, 2, 3, true);
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, esr, BASE - 8);
    char want[256];
    snprintf(want, sizeof(want),
             "guest wrote 4 bytes to guest-physical address 0xffffff8, outside guest RAM (EC 0x24, "
             "ESR 0x%" PRIx64 ", PC 0x10041234, IPA 0xffffff8)",
             esr);
    expect_failure(run(), want);
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, dabort_esr(DABORT_LOWER, false, 0, 0, false),
                  BASE + MEM);
    expect_failure_with(run(),
                        "guest accessed guest-physical address 0x11000000, outside guest RAM");
}

Test(hvf_exit, read_from_the_window_fails_without_advancing)
{
    uint64_t esr = dabort_esr(DABORT_LOWER, true, 3, 8, false);
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, esr, BASE + 0x400);
    char want[256];
    snprintf(want, sizeof(want),
             "guest read 8 bytes from the hypercall window at offset 0x400 (EC 0x24, ESR 0x%" PRIx64
             ", PC 0x10041234, IPA 0x10000400)",
             esr);
    expect_failure(run(), want);
    cr_assert_eq(fake_hvf.pc, ENTRY);
}

Test(hvf_exit, abort_without_syndrome_fails)
{
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, dabort_esr(DABORT_LOWER, false, 0, 0, true),
                  BASE + 0x1000);
    expect_failure_with(run(), "guest accessed the hypercall window at offset 0x1000 with an "
                               "instruction that has no syndrome");
    cr_assert(strstr(err_msg(), "(EC 0x24, ESR 0x9200004f, PC 0x10041234, IPA 0x10001000)"), "%s",
              err_msg());
    cr_assert_eq(fake_hvf.pc, ENTRY);
}

Test(hvf_exit, page_walks_and_cache_maintenance_in_the_window_fail)
{
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, dabort_esr(DABORT_LOWER, false, 0, 0, false) | 1 << 7,
                  BASE + 0x2000);
    expect_failure_with(run(), "guest page-table walk read the hypercall window at offset 0x2000");
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, dabort_esr(DABORT_LOWER, false, 0, 0, true) | 1 << 8,
                  BASE + 0x40);
    expect_failure_with(run(), "guest cache maintenance on the hypercall window at offset 0x40");
}

/* ---- other exception classes ---- */

Test(hvf_exit, unknown_exception_classes_fail)
{
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x3C, 0), 0);
    expect_failure(run(), "guest exception class 0x3c (BRK instruction) (EC 0x3c, ESR 0xf2000000, "
                          "PC 0x10041234, IPA 0x0)");
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x2F, 0), 0);
    expect_failure_with(run(), "guest exception class 0x2f (not handled by chyve) (EC 0x2f");
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x00, 0), 0);
    expect_failure_with(run(), "guest exception class 0x00 (unknown reason)");
}

Test(hvf_exit, instruction_abort_fails)
{
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x20, 0x0F), BASE + 0x10);
    expect_failure_with(run(), "guest executed from guest-physical address 0x10000010");
}

Test(hvf_exit, wfi_and_wfe_are_stepped_over)
{
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x01, 0), 0); /* WFI */
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x01, 1), 0); /* WFE */
    fake_hvf.x[8] = 7;
    push_hypercall(0x800);
    expect_hypercall(run(), 0x800, 7);
    cr_assert_eq(fake_hvf.pc, ENTRY + 12);
    uint64_t counts[VCPU_STAT_COUNT];
    backend_vcpu_stats(v, counts);
    cr_assert_eq(counts[VCPU_STAT_HLT], 2);
    cr_assert_eq(fake_hvf.runs, 3);
}

Test(hvf_exit, pmu_registers_read_zero_and_ignore_writes)
{
    fake_hvf.x[5] = 0x1234;
    fake_hvf.x[6] = 0x5678;
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, sysreg_esr(3, 3, 9, 12, 0, 2, false), 0); /* PMCR */
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, sysreg_esr(3, 3, 9, 12, 1, 5, true), 0);  /* CNTENSET */
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, sysreg_esr(3, 3, 14, 8, 0, 6, true), 0);  /* EVCNTR0 */
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, sysreg_esr(3, 3, 9, 14, 0, 31, true), 0); /* USERENR */
    push_hypercall(0x540);
    fake_hvf.x[8] = 0;
    expect_hypercall(run(), 0x540, 0);
    cr_assert_eq(fake_hvf.x[5], 0);
    cr_assert_eq(fake_hvf.x[6], 0);
    cr_assert_eq(fake_hvf.pc, ENTRY + 20);
    uint64_t counts[VCPU_STAT_COUNT];
    backend_vcpu_stats(v, counts);
    cr_assert_eq(counts[VCPU_STAT_EMULATED], 4);
}

Test(hvf_exit, other_system_registers_fail_with_their_name)
{
    /* msr cntp_ctl_el0, x2 */
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, sysreg_esr(3, 3, 14, 2, 1, 2, false), 0);
    expect_failure_with(run(), "guest wrote system register S3_3_C14_C2_1, which chyve does not "
                               "emulate (EC 0x18");
    /* mrs x0, osdlr_el1 */
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, sysreg_esr(2, 0, 1, 3, 4, 0, true), 0);
    expect_failure_with(run(), "guest read system register S2_0_C1_C3_4");
    cr_assert_eq(fake_hvf.pc, ENTRY);
}

Test(hvf_exit, psci_over_hvc)
{
    fake_hvf.x[0] = 0x84000000; /* PSCI_VERSION */
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x16, 0), 0);
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    cr_assert_eq(fake_hvf.x[0], 2, "PSCI 0.2");
    cr_assert_eq(fake_hvf.pc, ENTRY + 4, "HVC returns past itself: only the store advanced PC");

    fake_hvf.x[0] = 0xC4000003; /* CPU_ON, SMC64 form */
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x16, 0), 0);
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    cr_assert_eq(fake_hvf.x[0], (uint64_t)-4, "ALREADY_ON");

    fake_hvf.x[0] = 0xC4000004; /* AFFINITY_INFO */
    fake_hvf.x[1] = 0;
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x16, 0), 0);
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    cr_assert_eq(fake_hvf.x[0], 0, "ON");
    fake_hvf.x[0] = 0x84000004;
    fake_hvf.x[1] = 1; /* the VM has one vCPU */
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x16, 0), 0);
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    cr_assert_eq(fake_hvf.x[0], (uint64_t)-2, "INVALID_PARAMETERS");

    fake_hvf.x[0] = 0x82000001; /* not PSCI */
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x16, 0), 0);
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    cr_assert_eq(fake_hvf.x[0], (uint64_t)-1, "NOT_SUPPORTED");
    cr_assert_eq(fake_hvf.pc, ENTRY + 20);
}

Test(hvf_exit, psci_over_smc_steps_over_the_smc)
{
    fake_hvf.x[0] = 0x84000000;
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x17, 0), 0);
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    cr_assert_eq(fake_hvf.x[0], 2);
    cr_assert_eq(fake_hvf.pc, ENTRY + 8);
}

Test(hvf_exit, psci_system_off_and_reset_end_the_run)
{
    fake_hvf.x[0] = 0x84000008;
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x16, 0), 0);
    expect_failure_with(run(), "guest powered off through PSCI SYSTEM_OFF without an Exit "
                               "hypercall (EC 0x16");
    fake_hvf.x[0] = 0x84000009;
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, ec_esr(0x16, 0), 0);
    expect_failure_with(run(), "PSCI SYSTEM_RESET");
}

/* ---- vtimer, unknown exits, framework errors ---- */

Test(hvf_exit, vtimer_is_unmasked_once_the_guest_quiets_it)
{
    fake_hvf.sys[HV_SYS_REG_CNTV_CTL_EL0] = 0x5; /* enabled, unmasked, firing */
    fake_hvf_push(HV_EXIT_REASON_VTIMER_ACTIVATED, 0, 0);
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    cr_assert_eq(fake_hvf.vtimer_mask_calls, 0, "still firing: stays masked");
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    cr_assert_eq(fake_hvf.vtimer_mask_calls, 0);
    fake_hvf.sys[HV_SYS_REG_CNTV_CTL_EL0] = 0x7; /* the guest masked it (IMASK) */
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    cr_assert_eq(fake_hvf.vtimer_mask_calls, 1);
    cr_assert_eq(fake_hvf.vtimer_masked, false);
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    cr_assert_eq(fake_hvf.vtimer_mask_calls, 1, "unmasked once");
    uint64_t counts[VCPU_STAT_COUNT];
    backend_vcpu_stats(v, counts);
    cr_assert_eq(counts[VCPU_STAT_OTHER], 1);
}

Test(hvf_exit, vtimer_already_quiet_is_unmasked_before_the_next_run)
{
    fake_hvf.sys[HV_SYS_REG_CNTV_CTL_EL0] = 0x1; /* enabled, condition not met any more */
    fake_hvf_push(HV_EXIT_REASON_VTIMER_ACTIVATED, 0, 0);
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    cr_assert_eq(fake_hvf.vtimer_mask_calls, 1);
    cr_assert_eq(fake_hvf.vtimer_masked, false);
    cr_assert_eq(fake_hvf.runs, 2);
}

Test(hvf_exit, unknown_exits_are_tolerated_a_while)
{
    for (int i = 0; i < 3; i++)
        fake_hvf_push(HV_EXIT_REASON_UNKNOWN, 0, 0);
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    for (int i = 0; i < HVF_UNKNOWN_EXIT_LIMIT; i++)
        fake_hvf_push(HV_EXIT_REASON_UNKNOWN, 0, 0);
    expect_failure(run(), "hv_vcpu_run returned HV_EXIT_REASON_UNKNOWN 64 times in a row");
}

Test(hvf_exit, unknown_exit_reason_fails)
{
    fake_hvf_push(9, 0, 0);
    expect_failure(run(), "hv_vcpu_run returned exit reason 9, which chyve does not know");
}

Test(hvf_exit, framework_error_fails)
{
    fake_hvf_push_error(HV_ILLEGAL_GUEST_STATE);
    expect_failure(run(), "hv_vcpu_run failed on vCPU 0: HV_ILLEGAL_GUEST_STATE");
}

Test(hvf_exit, pt_root_is_ttbr0_base_address)
{
    fake_hvf.sys[HV_SYS_REG_TTBR0_EL1] = 0x0001000010010001ull; /* ASID 1, CnP */
    uint64_t root = 0;
    cr_assert_eq(backend_vcpu_pt_root(v, &root), 0);
    cr_assert_eq(root, 0x10010000ull);
    cr_assert_eq(backend_vcpu_pt_root(v, &root), 0);
    cr_assert_eq(fake_hvf.wrong_thread, 0);
}

/* ---- kicks ---- */

Test(hvf_kick, kick_before_run_returns_at_once)
{
    backend_vcpu_kick(v);
    cr_assert_eq(fake_hvf.vcpus_exit_calls, 1);
    cr_assert_eq(fake_hvf.vcpus_exit_handle, FAKE_HVF_HANDLE);
    struct vcpu_exit e = run();
    cr_assert_eq(e.kind, VCPU_EXIT_KICKED);
    cr_assert_eq(fake_hvf.runs, 0);
    /* The framework's cancel is still latched: the next run resumes past it. */
    push_hypercall(0x400);
    expect_hypercall(run(), 0x400, 0);
    cr_assert_eq(fake_hvf.runs, 2);
    uint64_t counts[VCPU_STAT_COUNT];
    backend_vcpu_stats(v, counts);
    cr_assert_eq(counts[VCPU_STAT_OTHER], 1);
}

Test(hvf_kick, canceled_exit_without_a_kick_resumes)
{
    fake_hvf_push(HV_EXIT_REASON_CANCELED, 0, 0);
    push_hypercall(0x480);
    expect_hypercall(run(), 0x480, 0);
}

Test(hvf_kick, destroyed_vcpu_is_not_kicked)
{
    backend_vcpu_destroy(v);
    cr_assert_eq(fake_hvf.vcpu_destroys, 1);
    backend_vcpu_kick(v);
    cr_assert_eq(fake_hvf.vcpus_exit_calls, 0);
    backend_vcpu_destroy(v);
    cr_assert_eq(fake_hvf.vcpu_destroys, 1, "destroy is idempotent");
}

struct runner {
    struct backend_vm *vm;
    struct vcpu_exit exit;
    int rc;
    struct backend_vcpu *_Atomic vcpu;
};

/* A vCPU thread as vm.c runs it: create, run once, destroy, all on this thread. */
static void *vcpu_thread(void *arg)
{
    struct runner *r = arg;
    struct backend_vcpu *w;
    if (backend_vcpu_create(r->vm, 0, &lay, &w) != 0) {
        r->rc = -2;
        return NULL;
    }
    atomic_store(&r->vcpu, w);
    r->rc = backend_vcpu_run(w, &r->exit);
    backend_vcpu_destroy(w);
    return NULL;
}

Test(hvf_kick, kick_from_another_thread_interrupts_a_running_vcpu)
{
    backend_vcpu_destroy(v); /* the fixture's vCPU: the fake models one vCPU at a time */
    v = NULL;
    fake_hvf_push_block();
    struct runner r = {.vm = vm, .rc = -3};
    atomic_init(&r.vcpu, NULL);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, vcpu_thread, &r), 0);
    cr_assert(fake_hvf_wait_blocked(), "the vCPU never entered hv_vcpu_run");
    backend_vcpu_kick(atomic_load(&r.vcpu));
    pthread_join(t, NULL);
    cr_assert_eq(r.rc, 0, "%d", r.rc);
    cr_assert_eq(r.exit.kind, VCPU_EXIT_KICKED);
    cr_assert_eq(fake_hvf.vcpus_exit_calls, 1);
    cr_assert_eq(fake_hvf.wrong_thread, 0, "every per-vCPU call on the vCPU's own thread");
    cr_assert_eq(fake_hvf.vcpu_destroys, 2);
}

/* ---- devices ---- */

/* Loads from the PCI ECAM window reach the iobus, land in the register and step the PC. */
Test(hvf_dev, ecam_loads_and_stores_go_to_the_bus)
{
    init_guest(1);
    struct iobus *bus = iobus_create();
    cr_assert_not_null(bus);
    iobus_set_ecam(bus, 0x09000000, 0x100000);
    cr_assert_eq(backend_vm_create(&mem, &cfg, bus, &vm), 0, "%s", err_msg());
    cr_assert_eq(backend_vcpu_create(vm, 0, &lay, &v), 0, "%s", err_msg());
    fake_hvf.x[3] = 0x1234;
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, dabort_esr(DABORT_LOWER, true, 2, 3, false),
                  0x09000000);
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, dabort_esr(DABORT_LOWER, true, 2, 4, true), 0x09000004);
    push_hypercall(0x540); /* then stop at something the core sees */
    struct vcpu_exit e = run();
    cr_assert_eq(e.kind, VCPU_EXIT_HYPERCALL);
    cr_assert_eq(fake_hvf.x[3], 0xFFFFFFFF, "an empty slot reads all ones");
    cr_assert_eq(fake_hvf.pc, ENTRY + 12, "each access stepped over");
    /* outside RAM and outside every device it stays a guest error */
    fake_hvf_push(HV_EXIT_REASON_EXCEPTION, dabort_esr(DABORT_LOWER, true, 2, 3, false),
                  0x09200000);
    expect_failure_with(run(), "outside guest RAM");
    backend_vcpu_destroy(v);
    backend_vm_destroy(vm);
    guest_mem_fini(&mem);
    iobus_destroy(bus);
}

Test(hvf_dev, irq_lines_are_gic_spis)
{
    init_guest(1);
    cr_assert_eq(backend_vm_create(&mem, &cfg, NULL, &vm), 0, "%s", err_msg());
    cr_assert_eq(backend_irq_line(vm, 3, true), 0, "%s", err_msg());
    cr_assert_eq(fake_hvf.spi_intid, 35);
    cr_assert(fake_hvf.spi_level);
    cr_assert_eq(backend_irq_line(vm, 3, false), 0, "%s", err_msg());
    cr_assert_not(fake_hvf.spi_level);
    cr_assert_eq(fake_hvf.spi_calls, 2);
    backend_vm_destroy(vm);
    guest_mem_fini(&mem);
}
