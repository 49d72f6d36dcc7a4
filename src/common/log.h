/* log.h: chyve's own diagnostics on stderr, never mixed into the guest's output stream. */
#ifndef CHYVE_LOG_H
#define CHYVE_LOG_H

#include <stdatomic.h>
#include <stdbool.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3, LOG_TRACE = 4 };

/* Messages above this level are dropped. Default LOG_WARN; set once at start-up. */
extern enum log_level log_threshold;

/*
 * Prints "chyve: <level>: <message>\n" to stderr if level <= log_threshold, after calling the
 * flush hook (log_set_flush_hook) if one is set.
 */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Makes fn(ctx) run before every line log.c writes to stderr: the VM writes the guest console
 * output it holds, so that both streams keep their order when they go to the same file (vm.c).
 * A callback rather than a call, so that log.c depends on nothing of the VM. fn must not log
 * while it holds a lock that its own call would take again. NULL removes the hook. Set it while
 * no other thread logs (before a run's threads start, after they end).
 */
void log_set_flush_hook(void (*fn)(void *ctx), void *ctx);

/*
 * Sets log_threshold from a level name (error, warn, info, debug, trace; any case), as in
 * CHYVE_LOG. Returns 0, or -1 with err_msg() naming the accepted levels.
 */
int log_set_level_name(const char *name);

/*
 * Sets log_threshold from an env_logger filter, as uhyve reads RUST_LOG: comma-separated
 * directives `level`, `target=level` or `target` (= trace), an optional `/regex` after them
 * ignored; levels also `off` (errors only, chyve's minimum). chyve has one logger, so the most
 * verbose level named wins. Returns 0, or -1 with err_msg() naming the bad level.
 */
int log_set_rust_log(const char *filter);

/*
 * Rate limiting for messages a guest can trigger at will (issue 12: 200 000 bad hypercalls made
 * 200 000 lines). One struct log_limit per call site (log_warn_limited makes a static one): its
 * first LOG_LIMIT_BURST messages are printed, then at most one a second; the others are counted
 * and log_limit_flush() reports them. Safe from several vCPU threads at once (atomics, no lock).
 */
#define LOG_LIMIT_BURST 10
/* Bytes of the first message kept to name the kind in the summary. */
#define LOG_LIMIT_SNIPPET 128

struct log_limit {
    atomic_ullong seen;       /* messages at this site */
    atomic_ullong suppressed; /* not printed since the last flush */
    atomic_llong last_ms;     /* when the last one after the burst was printed (monotonic ms) */
    atomic_bool listed;       /* on the list log_limit_flush walks */
    struct log_limit *next;
    char first[LOG_LIMIT_SNIPPET]; /* the start of the first message */
};

/* log_msg(level, ...) subject to the limit of site l (zero-initialised, static duration). */
void log_msg_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * For every site that dropped messages since the last call, prints one line
 * "chyve: warning: N similar warnings suppressed (first: ...)" and resets its count. Call it
 * where a run ends (main.c); it is also registered with atexit when a site first drops a message.
 */
void log_limit_flush(void);

/* A rate-limited warning with its own per-call-site state. */
#define log_warn_limited(...)                                                                      \
    do {                                                                                           \
        static struct log_limit log_limit_site_;                                                   \
        log_msg_limited(&log_limit_site_, LOG_WARN, __VA_ARGS__);                                  \
    } while (0)

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_TRACE, __VA_ARGS__)

#endif
