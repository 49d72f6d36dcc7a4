/* log.h: chyve's own diagnostics on stderr, never mixed into the guest's output stream. */
#ifndef CHYVE_LOG_H
#define CHYVE_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3, LOG_TRACE = 4 };

/* Messages above this level are dropped. Default LOG_WARN; set once at start-up. */
extern enum log_level log_threshold;

/* Prints "chyve: <level>: <message>\n" to stderr if level <= log_threshold. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_TRACE, __VA_ARGS__)

#endif
