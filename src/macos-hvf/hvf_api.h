/*
 * hvf_api.h: the subset of Apple's Hypervisor.framework (Apple silicon) that chyve uses. On macOS
 * this is the real <Hypervisor/Hypervisor.h>; elsewhere, and in the unit tests (CHYVE_HVF_FAKE),
 * it declares the same names from Apple's documented API so the backend compiles against a fake.
 */
#ifndef CHYVE_HVF_API_H
#define CHYVE_HVF_API_H

#if defined(__APPLE__) && !defined(CHYVE_HVF_FAKE)

#include <Availability.h>
#include <Hypervisor/Hypervisor.h>
#include <os/object.h>

/* The GIC functions are declared from the macOS 15 SDK on. */
#if defined(__MAC_OS_X_VERSION_MAX_ALLOWED) && __MAC_OS_X_VERSION_MAX_ALLOWED >= 150000
#define HVF_HAVE_GIC_API 1
#else
#define HVF_HAVE_GIC_API 0
#endif
/* The GIC functions exist at run time only on macOS 15 and later (weak-linked below that). */
#define HVF_GIC_RUNTIME_AVAILABLE() __builtin_available(macOS 15.0, *)

#else /* declarations written from Apple's Hypervisor.framework documentation */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* hv_return_t is a mach_error_t; the error values are those of Apple's hv_error.h. */
typedef int hv_return_t;
#define HV_SUCCESS ((hv_return_t)0)
#define HV_ERROR ((hv_return_t)0xfae94001)
#define HV_BUSY ((hv_return_t)0xfae94002)
#define HV_BAD_ARGUMENT ((hv_return_t)0xfae94003)
#define HV_ILLEGAL_GUEST_STATE ((hv_return_t)0xfae94004)
#define HV_NO_RESOURCES ((hv_return_t)0xfae94005)
#define HV_NO_DEVICE ((hv_return_t)0xfae94006)
#define HV_DENIED ((hv_return_t)0xfae94007)
#define HV_UNSUPPORTED ((hv_return_t)0xfae9400f)

typedef uint64_t hv_vcpu_t;
typedef uint64_t hv_ipa_t;
typedef uint64_t hv_exception_syndrome_t;
typedef uint64_t hv_exception_address_t;

/* Configuration objects are OS objects: opaque pointers released with os_release(). */
typedef struct hv_vm_config_s *hv_vm_config_t;
typedef struct hv_vcpu_config_s *hv_vcpu_config_t;
typedef struct hv_gic_config_s *hv_gic_config_t;
void os_release(void *object);

typedef uint64_t hv_memory_flags_t;
#define HV_MEMORY_READ (1ull << 0)
#define HV_MEMORY_WRITE (1ull << 1)
#define HV_MEMORY_EXEC (1ull << 2)

typedef uint32_t hv_exit_reason_t;
enum {
    HV_EXIT_REASON_CANCELED = 0,
    HV_EXIT_REASON_EXCEPTION = 1,
    HV_EXIT_REASON_VTIMER_ACTIVATED = 2,
    HV_EXIT_REASON_UNKNOWN = 3,
};

typedef struct {
    hv_exception_syndrome_t syndrome;       /* ESR_EL2 of the trap */
    hv_exception_address_t virtual_address; /* FAR_EL2 */
    hv_ipa_t physical_address;              /* faulting intermediate physical address */
} hv_vcpu_exit_exception_t;

typedef struct {
    hv_exit_reason_t reason;
    hv_vcpu_exit_exception_t exception;
} hv_vcpu_exit_t;

/* General registers: X0..X30 are 0..30 in order, then PC, FPCR, FPSR, CPSR. */
typedef uint32_t hv_reg_t;
enum {
    HV_REG_X0 = 0,
    HV_REG_X1 = 1,
    HV_REG_X8 = 8,
    HV_REG_X30 = 30,
    HV_REG_PC = 31,
    HV_REG_FPCR = 32,
    HV_REG_FPSR = 33,
    HV_REG_CPSR = 34,
};

/* System registers, named by their architectural encoding op0:op1:CRn:CRm:op2. */
typedef uint16_t hv_sys_reg_t;
enum {
    HV_SYS_REG_MDSCR_EL1 = 0x8012,
    HV_SYS_REG_MPIDR_EL1 = 0xc005,
    HV_SYS_REG_SCTLR_EL1 = 0xc080,
    HV_SYS_REG_CPACR_EL1 = 0xc082,
    HV_SYS_REG_TTBR0_EL1 = 0xc100,
    HV_SYS_REG_TTBR1_EL1 = 0xc101,
    HV_SYS_REG_TCR_EL1 = 0xc102,
    HV_SYS_REG_MAIR_EL1 = 0xc510,
    HV_SYS_REG_CNTV_CTL_EL0 = 0xdf19,
    HV_SYS_REG_CNTV_CVAL_EL0 = 0xdf1a,
    HV_SYS_REG_SP_EL1 = 0xe208,
};

typedef uint32_t hv_feature_reg_t;
enum {
    HV_FEATURE_REG_ID_AA64MMFR0_EL1 = 4,
};

/* VM */
hv_return_t hv_vm_create(hv_vm_config_t config);
hv_return_t hv_vm_destroy(void);
hv_return_t hv_vm_map(void *addr, hv_ipa_t ipa, size_t size, hv_memory_flags_t flags);
hv_return_t hv_vm_unmap(hv_ipa_t ipa, size_t size);
hv_return_t hv_vm_protect(hv_ipa_t ipa, size_t size, hv_memory_flags_t flags);

/* vCPUs: every call but hv_vcpus_exit on the thread that created the vCPU. */
hv_vcpu_config_t hv_vcpu_config_create(void);
hv_return_t hv_vcpu_config_get_feature_reg(hv_vcpu_config_t config, hv_feature_reg_t feature_reg,
                                           uint64_t *value);
hv_return_t hv_vcpu_create(hv_vcpu_t *vcpu, hv_vcpu_exit_t **exit, hv_vcpu_config_t config);
hv_return_t hv_vcpu_destroy(hv_vcpu_t vcpu);
hv_return_t hv_vcpu_run(hv_vcpu_t vcpu);
hv_return_t hv_vcpus_exit(hv_vcpu_t *vcpus, uint32_t vcpu_count);
hv_return_t hv_vcpu_get_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t *value);
hv_return_t hv_vcpu_set_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t value);
hv_return_t hv_vcpu_get_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t *value);
hv_return_t hv_vcpu_set_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t value);
hv_return_t hv_vcpu_set_vtimer_mask(hv_vcpu_t vcpu, bool vtimer_is_masked);

/* GICv3 device (macOS 15): created after hv_vm_create, before the first vCPU. */
hv_gic_config_t hv_gic_config_create(void);
hv_return_t hv_gic_config_set_distributor_base(hv_gic_config_t config, hv_ipa_t distributor_base);
hv_return_t hv_gic_config_set_redistributor_base(hv_gic_config_t config,
                                                 hv_ipa_t redistributor_base);
hv_return_t hv_gic_create(hv_gic_config_t gic_config);
hv_return_t hv_gic_get_distributor_size(size_t *distributor_size);
hv_return_t hv_gic_get_distributor_base_alignment(size_t *distributor_base_alignment);
hv_return_t hv_gic_get_redistributor_region_size(size_t *redistributor_region_size);
hv_return_t hv_gic_get_redistributor_base_alignment(size_t *redistributor_base_alignment);
hv_return_t hv_gic_set_spi(uint32_t intid, bool level);

/* Without the real framework the GIC's presence is decided by whoever provides the functions. */
#define HVF_HAVE_GIC_API 1
bool hvf_fake_gic_available(void);
#define HVF_GIC_RUNTIME_AVAILABLE() hvf_fake_gic_available()

#endif

#endif
