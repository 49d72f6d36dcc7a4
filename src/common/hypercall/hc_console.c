/* hc_console.c: the Exit and serial hypercalls of uhyve interface v1 and v2 (ABI §6.2, §6.3). */
#include <inttypes.h>
#include <unistd.h>

#include "hypercall/calls.h"
#include "log.h"
#include "vm.h"

/* v1 Exit: the code is the block's i32. */
enum hc_status hc_exit_v1(const struct hc_call *c)
{
    const struct uhyve_exit_v1 *p = c->block;
    vm_stop(c->vm, p->code, NULL);
    return HC_STOP;
}

/* v2 Exit: the code is the low 32 bits of data, signed. */
enum hc_status hc_exit_v2(const struct hc_call *c)
{
    vm_stop(c->vm, (int32_t)(uint32_t)c->data, NULL);
    return HC_STOP;
}

/* SerialWriteByte (v1 and v2): the low byte of data. */
enum hc_status hc_serial_byte(const struct hc_call *c)
{
    uint8_t ch = (uint8_t)c->data;
    vm_console_write(c->vm, &ch, 1);
    return HC_CONTINUE;
}

/* Writes the guest-physical buffer [buf, buf + len) to the console, if it is in guest RAM. */
static enum hc_status serial_buffer(const struct hc_call *c, uint64_t buf, uint64_t len)
{
    const void *p = guest_mem_ptr(&c->vm->mem, buf, len);
    if (!p) {
        log_warn_limited("SerialWriteBuffer hypercall: buffer 0x%" PRIx64 "+0x%" PRIx64
                         " is outside guest memory; ignored",
                         buf, len);
        return HC_CONTINUE;
    }
    vm_console_write(c->vm, p, (size_t)len);
    return HC_CONTINUE;
}

enum hc_status hc_serial_buffer_v1(const struct hc_call *c)
{
    const struct uhyve_serial_buffer_v1 *p = c->block;
    return serial_buffer(c, p->buf, p->len);
}

enum hc_status hc_serial_buffer_v2(const struct hc_call *c)
{
    const struct uhyve_serial_buffer_v2 *p = c->block;
    return serial_buffer(c, p->buf, p->len);
}

/* SerialReadBuffer (v2): reads host stdin once into the buffer; len gets the byte count. */
enum hc_status hc_serial_read(const struct hc_call *c)
{
    const struct uhyve_serial_read *p = c->block;
    void *buf = guest_mem_ptr(&c->vm->mem, p->buf, p->maxlen);
    ssize_t n = 0;
    if (!buf)
        log_warn_limited("SerialReadBuffer hypercall: buffer 0x%" PRIx64 "+0x%" PRIx64
                         " is outside guest memory",
                         p->buf, p->maxlen);
    else if (p->maxlen > 0)
        n = vm_read_stdin(c->vm, buf, (size_t)p->maxlen); /* returns when the run stops */
    HC_PUT(c, uhyve_serial_read, len, n > 0 ? (uint64_t)n : 0);
    return HC_CONTINUE;
}
