/*
 * oci.h: chyve-oci's commands (the OCI runtime command line of runc and crun) and what they
 * share: the global flags and the error report that engines read from --log.
 */
#ifndef CHYVE_OCI_H
#define CHYVE_OCI_H

#include <stdbool.h>

#define OCI_RUNTIME_VERSION "1.0.2" /* the runtime-spec version chyve-oci implements */

/* The global flags, parsed before the command. */
struct oci_global {
    const char *root;  /* --root: where container state lives */
    const char *log;   /* --log: a file for chyve-oci's own messages, or NULL */
    bool log_json;     /* --log-format json */
    bool debug;        /* --debug: also info lines */
    const char *argv0; /* how chyve-oci was invoked (to find chyve beside it) */
};

/*
 * Reports a failure: "chyve-oci: error: MSG" on stderr and, with --log, one line there (JSON
 * {"level":"error","msg":..,"time":..} with --log-format json, which podman's conmon reads).
 */
void oci_error(const struct oci_global *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Each command takes its own arguments (argv[0] is the command's name); returns the exit status. */
int oci_cmd_create(const struct oci_global *g, int argc, char **argv);
int oci_cmd_start(const struct oci_global *g, int argc, char **argv);
int oci_cmd_run(const struct oci_global *g, int argc, char **argv);
int oci_cmd_state(const struct oci_global *g, int argc, char **argv);
int oci_cmd_kill(const struct oci_global *g, int argc, char **argv);
int oci_cmd_delete(const struct oci_global *g, int argc, char **argv);
int oci_cmd_list(const struct oci_global *g, int argc, char **argv);
int oci_cmd_features(const struct oci_global *g, int argc, char **argv);

/* A signal by name ("TERM", "SIGTERM", any case) or number; 0 when it is none. */
int oci_signal_parse(const char *s);

#endif
