/* hypercall.c: decode and dispatch uhyve v1/v2 hypercalls: exit, serial, command line (ABI §6). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hypercall/hc_file.h"
#include "hypercall/hypercall.h"
#include "log.h"
#include "vm.h"

bool hypercall_is_v2(uint64_t addr)
{
    /* The whole v2 window: reserved addresses in it are then refused as unknown hypercalls. */
    return addr >= HC_V2_EXIT && addr <= HC_V2_MKDIR;
}

bool hypercall_block_in(struct vm *vm, const char *what, uint64_t gpa, void *buf, size_t size)
{
    if (guest_mem_read(&vm->mem, gpa, buf, size) == 0)
        return true;
    log_warn("%s hypercall: parameter block at 0x%" PRIx64 " is outside guest memory; ignored",
             what, gpa);
    return false;
}

/* Exit: v1 reads an i32 from the block, v2 carries the code in the low 32 bits of data. */
static enum hc_status hc_exit(struct vm *vm, uint64_t addr, uint64_t data)
{
    int32_t code;
    if (addr == HC_V2_EXIT) {
        code = (int32_t)(uint32_t)data;
    } else {
        uint8_t b[4];
        if (guest_mem_read(&vm->mem, data, b, sizeof(b)) != 0) {
            char msg[128];
            snprintf(msg, sizeof(msg),
                     "guest Exit hypercall has its parameter block at 0x%" PRIx64
                     ", outside guest memory",
                     data);
            vm_stop(vm, 0, msg);
            return HC_STOP;
        }
        code = hypercall_get_i32(b, 0);
    }
    vm_stop(vm, code, NULL);
    return HC_STOP;
}

/* SerialWriteBuffer: v1 block {u64 buf, u64 len}, v2 block {u64 len, u64 buf}; both physical. */
static enum hc_status hc_serial_buffer(struct vm *vm, uint64_t addr, uint64_t data)
{
    uint8_t b[16];
    if (!hypercall_block_in(vm, "SerialWriteBuffer", data, b, sizeof(b)))
        return HC_CONTINUE;
    bool v2 = addr == HC_V2_SERIAL_BUFFER;
    uint64_t buf = hypercall_get_u64(b, v2 ? 8 : 0);
    uint64_t len = hypercall_get_u64(b, v2 ? 0 : 8);
    const void *p = guest_mem_ptr(&vm->mem, buf, len);
    if (!p) {
        log_warn("SerialWriteBuffer hypercall: buffer 0x%" PRIx64 "+0x%" PRIx64
                 " is outside guest memory; ignored",
                 buf, len);
        return HC_CONTINUE;
    }
    vm_console_write(vm, p, (size_t)len);
    return HC_CONTINUE;
}

/* SerialReadBuffer (v2): block {u64 maxlen, u64 len (out), u64 buf}; reads host stdin once. */
static enum hc_status hc_serial_read(struct vm *vm, uint64_t data)
{
    uint8_t b[24];
    if (!hypercall_block_in(vm, "SerialReadBuffer", data, b, sizeof(b)))
        return HC_CONTINUE;
    uint64_t maxlen = hypercall_get_u64(b, 0), buf = hypercall_get_u64(b, 16);
    void *p = guest_mem_ptr(&vm->mem, buf, maxlen);
    ssize_t n = 0;
    if (!p)
        log_warn("SerialReadBuffer hypercall: buffer 0x%" PRIx64 "+0x%" PRIx64
                 " is outside guest memory",
                 buf, maxlen);
    else if (maxlen > 0)
        n = read(STDIN_FILENO, p, (size_t)maxlen);
    uint64_t len = n > 0 ? (uint64_t)n : 0;
    guest_mem_write(&vm->mem, data + 8, &len, sizeof(len)); /* host is little-endian */
    return HC_CONTINUE;
}

/* The argument and environment lists the v1 command-line hypercalls announce and deliver. */
static size_t cmd_argc(const struct vm *vm)
{
    size_t n = 1 + vm->cfg->nargs;
    return n > VM_MAX_ARGS ? VM_MAX_ARGS : n;
}

static const char *cmd_arg(const struct vm *vm, size_t i)
{
    return i == 0 ? vm->cfg->kernel_path : vm->cfg->args[i - 1];
}

static size_t cmd_envc(const struct vm *vm)
{
    return vm->cfg->nenv > VM_MAX_ARGS ? VM_MAX_ARGS : vm->cfg->nenv;
}

/*
 * Cmdsize (v1): block {i32 argc; i32 argsz[128]; i32 envc; i32 envsz[128]} = 1032 bytes. The sizes
 * announced here are exactly the strings Cmdval writes (no uhyve slot shift, no host-env count).
 */
static enum hc_status hc_cmdsize(struct vm *vm, uint64_t data)
{
    uint8_t b[1032];
    memset(b, 0, sizeof(b));
    size_t argc = cmd_argc(vm), envc = cmd_envc(vm);
    hypercall_put_u32(b, 0, (uint32_t)argc);
    for (size_t i = 0; i < argc; i++)
        hypercall_put_u32(b, 4 + 4 * i, (uint32_t)(strlen(cmd_arg(vm, i)) + 1));
    hypercall_put_u32(b, 516, (uint32_t)envc);
    for (size_t i = 0; i < envc; i++)
        hypercall_put_u32(b, 520 + 4 * i, (uint32_t)(strlen(vm->cfg->env[i]) + 1));
    if (guest_mem_write(&vm->mem, data, b, sizeof(b)) != 0)
        log_warn("Cmdsize hypercall: parameter block at 0x%" PRIx64
                 " is outside guest memory; ignored",
                 data);
    return HC_CONTINUE;
}

/* Writes string s into the buffer whose address is slot i of the guest array at `array`. */
static void cmdval_put(struct vm *vm, const char *what, uint64_t array, size_t i, const char *s)
{
    uint64_t slot;
    if (guest_mem_read(&vm->mem, array + 8 * i, &slot, sizeof(slot)) != 0 ||
        guest_mem_write(&vm->mem, slot, s, strlen(s) + 1) != 0)
        log_warn("Cmdval hypercall: %s[%zu] buffer is outside guest memory; skipped", what, i);
}

/* Cmdval (v1): block {u64 argv, u64 envp}: arrays of guest-physical buffer addresses. */
static enum hc_status hc_cmdval(struct vm *vm, uint64_t data)
{
    uint8_t b[16];
    if (!hypercall_block_in(vm, "Cmdval", data, b, sizeof(b)))
        return HC_CONTINUE;
    uint64_t argv = hypercall_get_u64(b, 0), envp = hypercall_get_u64(b, 8);
    /* 8 * i cannot overflow (i < 128); argv + 8 * i wrapping is caught by guest_mem_read. */
    for (size_t i = 0; i < cmd_argc(vm); i++)
        cmdval_put(vm, "argv", argv, i, cmd_arg(vm, i));
    for (size_t i = 0; i < cmd_envc(vm); i++)
        cmdval_put(vm, "env", envp, i, vm->cfg->env[i]);
    return HC_CONTINUE;
}

enum hc_status hypercall_handle(struct vm *vm, struct backend_vcpu *v, uint64_t addr,
                                uint64_t data)
{
    /* data is what the backend decoded: the OUT value (x86 v1), RDI (x86 v2) or X8 (aarch64). */
    switch (addr) {
    case HC_V1_EXIT:
    case HC_V2_EXIT:
        return hc_exit(vm, addr, data);
    case HC_V1_SERIAL_BYTE:
    case HC_V2_SERIAL_BYTE: {
        uint8_t c = (uint8_t)data;
        vm_console_write(vm, &c, 1);
        return HC_CONTINUE;
    }
    case HC_V1_SERIAL_BUFFER:
    case HC_V2_SERIAL_BUFFER:
        return hc_serial_buffer(vm, addr, data);
    case HC_V2_SERIAL_READ_BUFFER:
        return hc_serial_read(vm, data);
    case HC_V1_CMDSIZE:
        return hc_cmdsize(vm, data);
    case HC_V1_CMDVAL:
        return hc_cmdval(vm, data);
    default:
        break;
    }
    if (hc_file_is_file_call(addr))
        return hc_file_handle(vm, v, addr, data);

    char msg[128];
    snprintf(msg, sizeof(msg), "guest made an unknown hypercall: port/address 0x%" PRIx64, addr);
    vm_stop(vm, 0, msg);
    return HC_STOP;
}
