/* rt.h: the freestanding runtime of chyve's test guests (Hermit boot ABI, uhyve hypercalls). */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#define RT_MAX_CPUS 16
#define RT_STACK_SHIFT 14
#define RT_STACK_SIZE (1 << RT_STACK_SHIFT) /* per-CPU stack in .bss; crt0 picks one by RSI */

#ifndef __ASSEMBLER__
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_PAGE 4096ull

/* Hermit errno numbers (ABI §6.4) */
#define H_ENOENT 2
#define H_EBADF 9
#define H_EFAULT 14
#define H_EINVAL 22

/* Boot info fields (ABI §2.1, entry version 4) */
#define BI_PHYS_START 0x00
#define BI_PHYS_END 0x08
#define BI_SERIAL_PORT 0x10
#define BI_FDT 0x18
#define BI_KERNEL_START 0x20
#define BI_KERNEL_END 0x28
#define BI_PLATFORM 0x50
#define BI_NUM_CPUS 0x60
#define BI_CPU_FREQ 0x68

/* Set by rt_start from RDI before any guest code runs (all CPUs get the same pointer). */
extern const volatile uint8_t *rt_boot_info;
/* Use the v2 hypercall interface for console and exit (guests with the UHYVEIF 3 note). */
extern bool rt_v2;
/* First and one-past-last byte of the loaded image (from the linker script). */
extern char __image_start[], __image_end[];

uint64_t bi_u64(unsigned off);
uint32_t bi_u32(unsigned off);
uint16_t bi_u16(unsigned off);

/* The guest's own code: main runs on CPU 0; ap_main on every other CPU (default: park). */
int guest_main(void);
void guest_ap_main(unsigned cpu);

/* Console and exit through the interface chosen by rt_v2. */
void rt_write(const char *s, size_t n);
void rt_puts(const char *s); /* no newline added */
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
__attribute__((noreturn)) void rt_exit(int code);
__attribute__((noreturn)) void rt_park(void);

/* --- hypercalls, v1: OUT of a 32-bit guest-physical block address to a port (ABI §6.2) --- */
/* Ports, addresses and parameter blocks are chyve's own definitions, shared with its handlers. */
#include "hypercall/uhyve_abi.h"

/* What a v1 hypercall carries: x86_64 OUTs 32 bits, aarch64 stores all of X8 (ABI §6.1). */
#if defined(__aarch64__)
typedef uint64_t hc1_data_t;
#else
typedef uint32_t hc1_data_t;
#endif

void hc1_raw(uint16_t port, hc1_data_t data);
void hc1_raw8(uint16_t port, uint8_t data);
hc1_data_t hc1_addr(const volatile void *block); /* physical (= identity virtual) address */
void hc1_serial_byte(char c);
void hc1_serial_buffer(const void *buf, uint64_t len);
void hc1_file_write(int32_t fd, const void *buf, uint64_t len);
int32_t hc1_file_open(const char *name, int32_t flags, int32_t mode);
int32_t hc1_file_close(int32_t fd);
void hc1_exit(int32_t code);

/* --- hypercalls, v2: OUT to the v2 address, data in RDI (ABI §6.1, §6.3) --- */
void hc2_raw(uint16_t addr, uint64_t data);
void hc2_serial_byte(char c);
void hc2_serial_buffer(const void *buf, uint64_t len);
int64_t hc2_file_write(int32_t fd, const void *buf, uint64_t len);
int64_t hc2_file_read(int32_t fd, void *buf, uint64_t len); /* bytes, or -errno */
uint64_t hc2_serial_read(void *buf, uint64_t maxlen);       /* SerialReadBuffer: bytes read */
int32_t hc2_file_open(const char *name, int32_t flags, int32_t mode);
int32_t hc2_file_close(int32_t fd);
void hc2_exit(int32_t code);

/* --- arguments --- */
#define RT_MAX_WORDS 512

/* bootargs split into kernel words, env=KEY=VALUE entries and the words after "--" (ABI §7.3). */
struct rt_args {
    const char *bootargs; /* the raw string, "" if there is none */
    int nkernel, nenv, napp;
    char *kernel[RT_MAX_WORDS];
    char *env[RT_MAX_WORDS];
    char *app[RT_MAX_WORDS];
};

/* /chosen/bootargs of the FDT at fdt (NUL-terminated inside the blob), or NULL. */
const char *fdt_bootargs(const void *fdt);
/*
 * Splits s by POSIX shell rules (blanks, '...', "...", backslash) into words stored in
 * out[0, cap); word pointers go to words[0, max). Returns the word count, or -1 on an unterminated
 * quote or when out or words are too small.
 */
int rt_split_words(const char *s, char *out, size_t cap, char **words, int max);
/* Reads bootargs from the boot info's FDT and fills a (static storage). Returns 0 or -1. */
int rt_parse_bootargs(struct rt_args *a);
/* Parses an optionally signed decimal number; false if s is not one. */
bool rt_parse_int(const char *s, long *out);

/* --- memory and strings --- */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* A bump allocator over a static arena (never frees); NULL when exhausted. */
void *rt_alloc(size_t n, size_t align);

/* --- paging --- */
/*
 * Maps the 4 KiB virtual page va onto guest-physical page pa (present, writable) in the tables
 * CR3 points to, taking missing table pages from a static pool. Returns 0, or -1 if the pool is
 * empty or a 1 GiB / 2 MiB page already covers va.
 */
int rt_map_page(uint64_t va, uint64_t pa);

/* --- CPU: a free-running counter (TSC / CNTVCT_EL0), its rate, spin hint, halt --- */
#if defined(__aarch64__)
static inline uint64_t rt_rdtsc(void)
{
    uint64_t v;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v));
    return v;
}

static inline uint64_t rt_tick_khz(void)
{
    uint64_t f;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
    return f / 1000 ? f / 1000 : 1;
}

static inline void rt_pause(void)
{
    __asm__ volatile("yield" ::: "memory");
}

static inline void rt_halt(void)
{
    __asm__ volatile("msr daifset, #0xf; wfi" ::: "memory");
}
#else
static inline uint64_t rt_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* The TSC rate from the boot info, or a generous 3 GHz guess when the host gave none. */
static inline uint64_t rt_tick_khz(void)
{
    uint64_t khz = bi_u32(BI_CPU_FREQ);
    return khz ? khz : 3000000;
}

static inline void rt_pause(void)
{
    __asm__ volatile("pause" ::: "memory");
}

static inline void rt_halt(void)
{
    __asm__ volatile("cli; hlt" ::: "memory");
}
#endif

#endif /* __ASSEMBLER__ */
#endif
