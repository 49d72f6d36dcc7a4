/* rt.h (host shim): what netstack.c takes from the guest runtime, provided by the host libc. */
#ifndef STACK_HOST_SHIM_RT_H
#define STACK_HOST_SHIM_RT_H

#include <stddef.h>

void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int printf(const char *fmt, ...);
#define rt_printf printf

#endif
