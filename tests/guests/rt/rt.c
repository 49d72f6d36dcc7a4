/* rt.c: guest start-up after crt0, console output, exit and a small printf-like formatter. */
#include "rt.h"

const volatile uint8_t *rt_boot_info;
bool rt_v2;

uint64_t bi_u64(unsigned off)
{
    uint64_t v;
    memcpy(&v, (const void *)(rt_boot_info + off), sizeof(v));
    return v;
}

uint32_t bi_u32(unsigned off)
{
    uint32_t v;
    memcpy(&v, (const void *)(rt_boot_info + off), sizeof(v));
    return v;
}

uint16_t bi_u16(unsigned off)
{
    uint16_t v;
    memcpy(&v, (const void *)(rt_boot_info + off), sizeof(v));
    return v;
}

/* Parks every CPU other than 0 unless the guest defines its own. */
__attribute__((weak)) void guest_ap_main(unsigned cpu)
{
    (void)cpu;
    rt_park();
}

void rt_start(const uint8_t *boot_info, uint64_t cpu);

/* Called by crt0 on the CPU's own stack with the entry registers RDI and RSI. */
void rt_start(const uint8_t *boot_info, uint64_t cpu)
{
    rt_boot_info = boot_info;
    if (cpu != 0) {
        guest_ap_main((unsigned)cpu);
        rt_park();
    }
    rt_exit(guest_main());
}

__attribute__((noreturn)) void rt_park(void)
{
    for (;;)
        rt_halt();
}

__attribute__((noreturn)) void rt_exit(int code)
{
    if (rt_v2)
        hc2_exit(code);
    else
        hc1_exit(code);
    rt_park();
}

void rt_write(const char *s, size_t n)
{
    if (rt_v2)
        hc2_serial_buffer(s, n);
    else
        hc1_serial_buffer(s, n);
}

void rt_puts(const char *s)
{
    rt_write(s, strlen(s));
}

/* Output state of one formatting run: bytes beyond cap are counted but dropped. */
struct fmt_out {
    char *buf;
    size_t cap;
    size_t len;
};

static void put(struct fmt_out *o, char c)
{
    if (o->len + 1 < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

/* Emits the digits of v in base (10 or 16) padded to width with pad, with an optional '-'. */
static void put_num(struct fmt_out *o, uint64_t v, unsigned base, bool neg, int width, char pad,
                    bool left, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    int total = n + (neg ? 1 : 0);
    if (neg && pad == '0')
        put(o, '-');
    for (; !left && total < width; width--)
        put(o, pad);
    if (neg && pad != '0')
        put(o, '-');
    while (n)
        put(o, tmp[--n]);
    for (; left && total < width; width--)
        put(o, ' ');
}

/* Supports %% %c %s %.*s %d %i %u %x %X %p with flags '-' '0', a width and l/ll/z/h modifiers. */
int rt_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct fmt_out o = {buf, cap, 0};
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(&o, *p);
            continue;
        }
        p++;
        bool left = false;
        char pad = ' ';
        for (;; p++) {
            if (*p == '-')
                left = true;
            else if (*p == '0')
                pad = '0';
            else
                break;
        }
        int width = 0;
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (*p++ - '0');
        int prec = -1;
        if (*p == '.') {
            p++;
            if (*p == '*') {
                prec = va_arg(ap, int);
                p++;
            } else {
                prec = 0;
                while (*p >= '0' && *p <= '9')
                    prec = prec * 10 + (*p++ - '0');
            }
        }
        int lng = 0;
        while (*p == 'l' || *p == 'z' || *p == 'h') {
            if (*p != 'h')
                lng = 1;
            p++;
        }
        switch (*p) {
        case '%':
            put(&o, '%');
            break;
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int n = 0;
            while (s[n] && (prec < 0 || n < prec))
                n++;
            for (int w = n; !left && w < width; w++)
                put(&o, ' ');
            for (int i = 0; i < n; i++)
                put(&o, s[i]);
            for (int w = n; left && w < width; w++)
                put(&o, ' ');
            break;
        }
        case 'd':
        case 'i': {
            int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);
            uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
            put_num(&o, u, 10, v < 0, width, pad, left, false);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
            put_num(&o, v, *p == 'u' ? 10 : 16, false, width, pad, left, *p == 'X');
            break;
        }
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_num(&o, (uintptr_t)va_arg(ap, void *), 16, false, width, pad, left, false);
            break;
        default: /* unknown conversion: print it literally */
            put(&o, '%');
            if (*p)
                put(&o, *p);
            else
                p--;
            break;
        }
    }
    if (cap)
        buf[o.len < cap ? o.len : cap - 1] = '\0';
    return (int)o.len;
}

int rt_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = rt_vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

/* Formats into a stack buffer and prints it with one console hypercall (atomic per line). */
int rt_printf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = rt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    rt_write(buf, len);
    return n;
}
