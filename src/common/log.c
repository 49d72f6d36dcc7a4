/* log.c: leveled diagnostics on stderr (see log.h). */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"
#include "log.h"

enum log_level log_threshold = LOG_WARN;

static const char *const level_names[] = {"error", "warning", "info", "debug", "trace"};

int log_set_level_name(const char *name)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i <= LOG_TRACE; i++)
        if (strcasecmp(name, names[i]) == 0 ||
            (i == LOG_WARN && strcasecmp(name, level_names[i]) == 0)) {
            log_threshold = (enum log_level)i;
            return 0;
        }
    return err_set("unknown level '%s' (use error, warn, info, debug or trace)", name);
}

int log_set_rust_log(const char *filter)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    int best = -1;
    size_t end = strcspn(filter, "/");
    for (size_t at = 0; at < end;) {
        size_t n = strcspn(filter + at, ",/");
        const char *d = filter + at, *eq = memchr(d, '=', n);
        const char *lv = eq ? eq + 1 : d;
        size_t ln = eq ? n - (size_t)(eq + 1 - d) : n;
        int lvl = -1;
        if (ln == 3 && !strncasecmp(lv, "off", 3))
            lvl = LOG_ERROR;
        for (int i = 0; i <= LOG_TRACE && lvl < 0; i++)
            if (strlen(names[i]) == ln && !strncasecmp(lv, names[i], ln))
                lvl = i;
        if (lvl < 0 && eq)
            return err_set("unknown level '%.*s' in '%.*s' (use off, error, warn, info, debug or "
                           "trace)",
                           (int)ln, lv, (int)n, d);
        if (lvl < 0 && n > 0)
            lvl = LOG_TRACE; /* a bare target: everything it logs */
        if (lvl > best)
            best = lvl;
        at += n + (filter[at + n] == ',');
    }
    if (best >= 0)
        log_threshold = (enum log_level)best;
    return 0;
}

/* The hook log_set_flush_hook() set, or NULL (changed only while no other thread logs). */
static _Atomic(void (*)(void *)) flush_fn;
static void *_Atomic flush_ctx;

void log_set_flush_hook(void (*fn)(void *ctx), void *ctx)
{
    atomic_store(&flush_fn, NULL);
    atomic_store(&flush_ctx, ctx);
    atomic_store(&flush_fn, fn);
}

/* One fprintf per line so that concurrent vCPU threads do not interleave within a line. */
static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    void (*fn)(void *) = atomic_load(&flush_fn);
    if (fn)
        fn(atomic_load(&flush_ctx)); /* what the guest printed before this line goes first */
    fprintf(stderr, "chyve: %s: %s\n", level_names[level], line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level > log_threshold)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

/* Sites that have dropped a message, newest first (pushed once each, never removed). */
static _Atomic(struct log_limit *) limited_sites;

static long long now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Puts l on the flush list the first time it drops a message. */
static void limit_list(struct log_limit *l)
{
    bool no = false;
    if (!atomic_compare_exchange_strong(&l->listed, &no, true))
        return;
    static atomic_bool exit_hook;
    bool unset = false;
    if (atomic_compare_exchange_strong(&exit_hook, &unset, true))
        atexit(log_limit_flush); /* for runs that end by exit() rather than through main() */
    struct log_limit *head = atomic_load(&limited_sites);
    do
        l->next = head;
    while (!atomic_compare_exchange_weak(&limited_sites, &head, l));
}

void log_msg_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
{
    if (level > log_threshold)
        return;
    unsigned long long n = atomic_fetch_add(&l->seen, 1);
    bool print = n < LOG_LIMIT_BURST;
    long long now = print ? 0 : now_ms();
    if (n == LOG_LIMIT_BURST - 1)
        atomic_store(&l->last_ms, now_ms()); /* the second starts at the burst's last line */
    if (!print) {
        /* One thread wins the slot of each second; the others count. */
        long long last = atomic_load(&l->last_ms);
        print = now - last >= 1000 && atomic_compare_exchange_strong(&l->last_ms, &last, now);
    }
    va_list ap;
    va_start(ap, fmt);
    if (n == 0)
        vsnprintf(l->first, sizeof(l->first), fmt, ap);
    va_end(ap);
    if (!print) {
        atomic_fetch_add(&l->suppressed, 1);
        limit_list(l);
        return;
    }
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

void log_limit_flush(void)
{
    for (struct log_limit *l = atomic_load(&limited_sites); l; l = l->next) {
        unsigned long long n = atomic_exchange(&l->suppressed, 0);
        if (n > 0)
            log_msg(LOG_WARN, "%llu similar warnings suppressed (first: %s)", n, l->first);
    }
}
