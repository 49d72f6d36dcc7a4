/*
 * state.h: a container's record under --root: ROOT/ID/state.json (written whole, atomically),
 * ROOT/ID/start (the FIFO chyve waits on until start), and the run directory of chyve. Every
 * command that reads or changes one container holds an exclusive lock on its directory.
 */
#ifndef CHYVE_OCI_STATE_H
#define CHYVE_OCI_STATE_H

#include <stdbool.h>
#include <stddef.h>

#define OCI_ID_MAX 1024 /* bytes of a container ID */

enum oci_status { OCI_CREATING, OCI_CREATED, OCI_RUNNING, OCI_STOPPED };

struct oci_state {
    char *id;
    char *bundle;
    char *created;                /* RFC 3339 time of create */
    char *annotations;            /* the spec's annotations as a JSON object text, or NULL */
    int pid;                      /* chyve's pid, 0 before it exists */
    unsigned long long starttime; /* its start time (/proc/PID/stat field 22): pid reuse check */
    bool started;                 /* start has released the VM */
    char *netns;                  /* the network namespace whose TAP delete removes, or NULL */
};

/* Whether id is a usable container ID: 1..OCI_ID_MAX bytes of [A-Za-z0-9_.+-], not "." or "..". */
bool oci_id_valid(const char *id);

/*
 * Makes ROOT (mode 0700, parents too) if missing, then ROOT/ID, which must not exist (the
 * error says "already exists"), locked. Returns the lock fd (close it to unlock), or -1.
 */
int oci_state_create(const char *root, const char *id);

/* Locks the existing ROOT/ID. Returns the lock fd, or -1 ("does not exist" if it is missing). */
int oci_state_lock(const char *root, const char *id);

/* Writes st as ROOT/ID/state.json (temporary file, then rename). 0 or -1. */
int oci_state_write(const char *root, const struct oci_state *st);

/* Reads ROOT/ID/state.json into *st (free with oci_state_free). 0 or -1. */
int oci_state_read(const char *root, const char *id, struct oci_state *st);

/* Frees what *st holds and zeroes it. */
void oci_state_free(struct oci_state *st);

/* Removes ROOT/ID and everything in it (the lock holder's last act). 0 or -1. */
int oci_state_remove(const char *root, const char *id);

/* Whether st's process is still the one created: alive, same start time, not a zombie. */
bool oci_state_alive(const struct oci_state *st);

/* The status now: stopped once the process is gone, else created or running. */
enum oci_status oci_state_status(const struct oci_state *st);

/* "creating", "created", "running" or "stopped". */
const char *oci_status_name(enum oci_status s);

/*
 * The runtime-spec state of st as JSON text (malloc'd; ociVersion, id, status, pid, bundle,
 * annotations, and runc's created and owner), pretty when indent. NULL when out of memory.
 */
char *oci_state_json(const struct oci_state *st, enum oci_status status, bool indent);

/* The start time of process pid (/proc/PID/stat field 22), or 0 if it has none (gone). */
unsigned long long oci_proc_starttime(int pid, bool *zombie);

/* The path ROOT/ID[/name] in buf (len bytes); -1 if it does not fit or ROOT is "". */
int oci_state_path(char *buf, size_t len, const char *root, const char *id, const char *name);

#endif
