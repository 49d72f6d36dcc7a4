/* fake_hvf.c: the hv_* functions of hvf_api.h, answering from a script and recording every call. */
#include <string.h>
#include <time.h>

#include "fake_hvf.h"

struct fake_hvf fake_hvf;

/* Distinct addresses standing in for the framework's configuration objects. */
static char vcpu_config_obj, gic_config_obj;

void fake_hvf_reset(void)
{
    memset(&fake_hvf, 0, sizeof(fake_hvf));
    pthread_mutex_init(&fake_hvf.lock, NULL);
    pthread_cond_init(&fake_hvf.cond, NULL);
    fake_hvf.fail_sys_reg = -1;
    fake_hvf.vm_create_result = HV_SUCCESS;
    fake_hvf.mmfr0 = 0x2; /* PARange 40 bits, TGran4 = 0 (4 KiB pages supported) */
    fake_hvf.gic_available = true;
    fake_hvf.gic_dist_size = 0x10000;
    fake_hvf.gic_dist_align = 0x10000;
    fake_hvf.gic_redist_size = 0x20000 * 64;
    fake_hvf.gic_redist_align = 0x20000;
}

static struct fake_hvf_step *new_step(void)
{
    if (fake_hvf.nsteps >= FAKE_HVF_MAX_STEPS)
        return NULL;
    struct fake_hvf_step *s = &fake_hvf.steps[fake_hvf.nsteps++];
    memset(s, 0, sizeof(*s));
    return s;
}

void fake_hvf_push(hv_exit_reason_t reason, uint64_t syndrome, uint64_t ipa)
{
    struct fake_hvf_step *s = new_step();
    if (s) {
        s->result = HV_SUCCESS;
        s->reason = reason;
        s->syndrome = syndrome;
        s->ipa = ipa;
        s->va = ipa & 0xFFF;
    }
}

void fake_hvf_push_error(hv_return_t r)
{
    struct fake_hvf_step *s = new_step();
    if (s)
        s->result = r;
}

void fake_hvf_push_block(void)
{
    struct fake_hvf_step *s = new_step();
    if (s) {
        s->result = HV_SUCCESS;
        s->block = true;
    }
}

bool fake_hvf_wait_blocked(void)
{
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&fake_hvf.lock);
        bool b = fake_hvf.in_run_blocked;
        pthread_mutex_unlock(&fake_hvf.lock);
        if (b)
            return true;
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
    return false;
}

/* Checks a per-vCPU call: the right handle, on the creating thread. */
static bool vcpu_ok(hv_vcpu_t vcpu)
{
    if (!fake_hvf.vcpu_exists || vcpu != FAKE_HVF_HANDLE) {
        fake_hvf.bad_handle++;
        return false;
    }
    if (!pthread_equal(pthread_self(), fake_hvf.owner))
        fake_hvf.wrong_thread++;
    return true;
}

void os_release(void *object)
{
    if (object == &vcpu_config_obj || object == &gic_config_obj)
        fake_hvf.configs_released++;
}

hv_return_t hv_vm_create(hv_vm_config_t config)
{
    if (config != NULL)
        return HV_BAD_ARGUMENT;
    if (fake_hvf.vm_create_result != HV_SUCCESS)
        return fake_hvf.vm_create_result;
    if (fake_hvf.vm_creates != fake_hvf.vm_destroys)
        return HV_BUSY; /* one VM per process */
    fake_hvf.vm_creates++;
    return HV_SUCCESS;
}

hv_return_t hv_vm_destroy(void)
{
    if (fake_hvf.vm_creates == fake_hvf.vm_destroys)
        return HV_BAD_ARGUMENT;
    fake_hvf.vm_destroys++;
    return HV_SUCCESS;
}

hv_return_t hv_vm_map(void *addr, hv_ipa_t ipa, size_t size, hv_memory_flags_t flags)
{
    if (fake_hvf.nmaps >= FAKE_HVF_MAX_CALLS)
        return HV_NO_RESOURCES;
    fake_hvf.maps[fake_hvf.nmaps++] = (struct fake_hvf_mem_call){addr, ipa, size, flags};
    return HV_SUCCESS;
}

hv_return_t hv_vm_unmap(hv_ipa_t ipa, size_t size)
{
    (void)ipa;
    (void)size;
    return HV_SUCCESS;
}

hv_return_t hv_vm_protect(hv_ipa_t ipa, size_t size, hv_memory_flags_t flags)
{
    if (fake_hvf.nprotects >= FAKE_HVF_MAX_CALLS)
        return HV_NO_RESOURCES;
    fake_hvf.protects[fake_hvf.nprotects++] = (struct fake_hvf_mem_call){NULL, ipa, size, flags};
    return HV_SUCCESS;
}

hv_vcpu_config_t hv_vcpu_config_create(void)
{
    fake_hvf.configs_created++;
    return (hv_vcpu_config_t)(void *)&vcpu_config_obj;
}

hv_return_t hv_vcpu_config_get_feature_reg(hv_vcpu_config_t config, hv_feature_reg_t feature_reg,
                                           uint64_t *value)
{
    if (config != (hv_vcpu_config_t)(void *)&vcpu_config_obj ||
        feature_reg != HV_FEATURE_REG_ID_AA64MMFR0_EL1)
        return HV_BAD_ARGUMENT;
    *value = fake_hvf.mmfr0;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_create(hv_vcpu_t *vcpu, hv_vcpu_exit_t **exit, hv_vcpu_config_t config)
{
    if (config != NULL && config != (hv_vcpu_config_t)(void *)&vcpu_config_obj)
        return HV_BAD_ARGUMENT;
    if (fake_hvf.vm_creates == fake_hvf.vm_destroys || fake_hvf.vcpu_exists)
        return HV_BUSY;
    fake_hvf.vcpu_exists = true;
    fake_hvf.owner = pthread_self();
    fake_hvf.vcpu_creates++;
    *vcpu = FAKE_HVF_HANDLE;
    *exit = &fake_hvf.exit;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_destroy(hv_vcpu_t vcpu)
{
    if (!vcpu_ok(vcpu))
        return HV_BAD_ARGUMENT;
    fake_hvf.vcpu_exists = false;
    fake_hvf.vcpu_destroys++;
    return HV_SUCCESS;
}

/* Fills the exit record for a CANCELED exit. */
static hv_return_t canceled(void)
{
    memset(&fake_hvf.exit, 0, sizeof(fake_hvf.exit));
    fake_hvf.exit.reason = HV_EXIT_REASON_CANCELED;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_run(hv_vcpu_t vcpu)
{
    if (!vcpu_ok(vcpu))
        return HV_BAD_ARGUMENT;
    fake_hvf.runs++;
    pthread_mutex_lock(&fake_hvf.lock);
    if (fake_hvf.cancel_pending) {
        /* A vCPU that was not running when hv_vcpus_exit came exits at once on its next run. */
        fake_hvf.cancel_pending = false;
        pthread_mutex_unlock(&fake_hvf.lock);
        return canceled();
    }
    if (fake_hvf.next >= fake_hvf.nsteps) {
        pthread_mutex_unlock(&fake_hvf.lock);
        return HV_ERROR; /* script exhausted: the test did not expect another run */
    }
    struct fake_hvf_step s = fake_hvf.steps[fake_hvf.next++];
    if (s.block) {
        fake_hvf.in_run_blocked = true;
        while (!fake_hvf.cancel_pending)
            pthread_cond_wait(&fake_hvf.cond, &fake_hvf.lock);
        fake_hvf.cancel_pending = false;
        fake_hvf.in_run_blocked = false;
        pthread_mutex_unlock(&fake_hvf.lock);
        return canceled();
    }
    pthread_mutex_unlock(&fake_hvf.lock);
    if (s.result != HV_SUCCESS)
        return s.result;
    fake_hvf.exit.reason = s.reason;
    fake_hvf.exit.exception.syndrome = s.syndrome;
    fake_hvf.exit.exception.virtual_address = s.va;
    fake_hvf.exit.exception.physical_address = s.ipa;
    return HV_SUCCESS;
}

hv_return_t hv_vcpus_exit(hv_vcpu_t *vcpus, uint32_t vcpu_count)
{
    if (vcpu_count != 1 || vcpus[0] != FAKE_HVF_HANDLE)
        return HV_BAD_ARGUMENT;
    pthread_mutex_lock(&fake_hvf.lock);
    fake_hvf.vcpus_exit_calls++;
    fake_hvf.vcpus_exit_handle = vcpus[0];
    fake_hvf.cancel_pending = true;
    pthread_cond_broadcast(&fake_hvf.cond);
    pthread_mutex_unlock(&fake_hvf.lock);
    return HV_SUCCESS;
}

/* The storage behind general register reg, or NULL for one the fake does not model. */
static uint64_t *gp_reg(hv_reg_t reg)
{
    if (reg <= 30)
        return &fake_hvf.x[reg];
    if (reg == HV_REG_PC)
        return &fake_hvf.pc;
    if (reg == HV_REG_CPSR)
        return &fake_hvf.cpsr;
    return NULL;
}

hv_return_t hv_vcpu_get_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t *value)
{
    uint64_t *r = gp_reg(reg);
    if (!vcpu_ok(vcpu) || r == NULL)
        return HV_BAD_ARGUMENT;
    *value = *r;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t value)
{
    uint64_t *r = gp_reg(reg);
    if (!vcpu_ok(vcpu) || r == NULL)
        return HV_BAD_ARGUMENT;
    *r = value;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_get_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t *value)
{
    if (!vcpu_ok(vcpu))
        return HV_BAD_ARGUMENT;
    *value = fake_hvf.sys[reg];
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t value)
{
    if (!vcpu_ok(vcpu) || (int)reg == fake_hvf.fail_sys_reg)
        return HV_BAD_ARGUMENT;
    fake_hvf.sys[reg] = value;
    if (fake_hvf.nsys_order < sizeof(fake_hvf.sys_order) / sizeof(fake_hvf.sys_order[0]))
        fake_hvf.sys_order[fake_hvf.nsys_order++] = reg;
    return HV_SUCCESS;
}

hv_return_t hv_vcpu_set_vtimer_mask(hv_vcpu_t vcpu, bool vtimer_is_masked)
{
    if (!vcpu_ok(vcpu))
        return HV_BAD_ARGUMENT;
    fake_hvf.vtimer_mask_calls++;
    fake_hvf.vtimer_masked = vtimer_is_masked;
    return HV_SUCCESS;
}

bool hvf_fake_gic_available(void)
{
    return fake_hvf.gic_available;
}

hv_gic_config_t hv_gic_config_create(void)
{
    fake_hvf.configs_created++;
    return (hv_gic_config_t)(void *)&gic_config_obj;
}

hv_return_t hv_gic_config_set_distributor_base(hv_gic_config_t config, hv_ipa_t distributor_base)
{
    if (config != (hv_gic_config_t)(void *)&gic_config_obj)
        return HV_BAD_ARGUMENT;
    fake_hvf.gic_dist_base = distributor_base;
    return HV_SUCCESS;
}

hv_return_t hv_gic_config_set_redistributor_base(hv_gic_config_t config,
                                                 hv_ipa_t redistributor_base)
{
    if (config != (hv_gic_config_t)(void *)&gic_config_obj)
        return HV_BAD_ARGUMENT;
    fake_hvf.gic_redist_base = redistributor_base;
    return HV_SUCCESS;
}

hv_return_t hv_gic_create(hv_gic_config_t gic_config)
{
    if (gic_config != (hv_gic_config_t)(void *)&gic_config_obj || fake_hvf.vcpu_exists ||
        fake_hvf.vm_creates == fake_hvf.vm_destroys)
        return HV_BAD_ARGUMENT; /* after hv_vm_create, before any vCPU (Apple's documentation) */
    fake_hvf.gic_creates++;
    return HV_SUCCESS;
}

hv_return_t hv_gic_get_distributor_size(size_t *distributor_size)
{
    *distributor_size = fake_hvf.gic_dist_size;
    return HV_SUCCESS;
}

hv_return_t hv_gic_get_distributor_base_alignment(size_t *distributor_base_alignment)
{
    *distributor_base_alignment = fake_hvf.gic_dist_align;
    return HV_SUCCESS;
}

hv_return_t hv_gic_get_redistributor_region_size(size_t *redistributor_region_size)
{
    *redistributor_region_size = fake_hvf.gic_redist_size;
    return HV_SUCCESS;
}

hv_return_t hv_gic_get_redistributor_base_alignment(size_t *redistributor_base_alignment)
{
    *redistributor_base_alignment = fake_hvf.gic_redist_align;
    return HV_SUCCESS;
}

hv_return_t hv_gic_set_spi(uint32_t intid, bool level)
{
    if (fake_hvf.gic_creates == 0 || intid < 32 || intid > 1019)
        return HV_BAD_ARGUMENT;
    fake_hvf.spi_calls++;
    fake_hvf.spi_intid = intid;
    fake_hvf.spi_level = level;
    return HV_SUCCESS;
}
