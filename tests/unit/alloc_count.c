/* alloc_count.c: the --wrap'd allocation and strcmp counters of alloc_count.h. */
#define _GNU_SOURCE /* asprintf, vasprintf */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_count.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_strcmp(const char *a, const char *b);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_asprintf(char **out, const char *fmt, ...);
int __wrap_strcmp(const char *a, const char *b);

static bool counting;
static size_t budget;
static struct alloc_count count;

void alloc_count_start(size_t b)
{
    memset(&count, 0, sizeof(count));
    budget = b;
    counting = true;
}

struct alloc_count alloc_count_stop(void)
{
    counting = false;
    return count;
}

/* Counts a request of n bytes; false if it must be refused (over the budget). */
static bool charge(size_t n)
{
    if (!counting)
        return true;
    count.calls++;
    if (n > count.largest)
        count.largest = n;
    if (n > budget - count.bytes) {
        count.refused++;
        return false;
    }
    count.bytes += n;
    return true;
}

void *__wrap_malloc(size_t n)
{
    return charge(n) ? __real_malloc(n) : NULL;
}

void *__wrap_calloc(size_t n, size_t size)
{
    size_t total = size && n > (size_t)-1 / size ? (size_t)-1 : n * size;
    return charge(total) ? __real_calloc(n, size) : NULL;
}

void *__wrap_realloc(void *p, size_t n)
{
    return charge(n) ? __real_realloc(p, n) : NULL;
}

char *__wrap_strdup(const char *s)
{
    return charge(strlen(s) + 1) ? __real_strdup(s) : NULL;
}

char *__wrap_strndup(const char *s, size_t n)
{
    return charge(strnlen(s, n) + 1) ? __real_strndup(s, n) : NULL;
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(out, fmt, ap);
    va_end(ap);
    if (n >= 0 && !charge((size_t)n + 1)) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return n;
}

int __wrap_strcmp(const char *a, const char *b)
{
    if (counting)
        count.strcmps++;
    return __real_strcmp(a, b);
}
