/*
 * tempdir.h: the private directory of one run, where files and directories the guest creates at
 * unmapped paths live; removed with everything in it when the run ends.
 */
#ifndef CHYVE_TEMPDIR_H
#define CHYVE_TEMPDIR_H

#include <stdint.h>

struct tempdir {
    int parent;       /* the parent directory (chyve-<uid>, or --tempdir), or -1 */
    int fd;           /* the run's directory, or -1 */
    char *path;       /* its host path, for messages and the sandbox */
    char name[32];    /* its name inside parent */
    uint64_t counter; /* names handed out so far */
};

/*
 * Creates the run directory `run-<pid>-<12 random hex digits>` (mode 0700) inside `parent`, or,
 * when parent is NULL, inside $TMPDIR (or /tmp) + "/chyve-<uid>", which is created with mode 0700
 * if missing and must otherwise be a directory (not a symlink) owned by this user with mode 0700.
 * The directory stays flock()ed while the process lives. Reclaims dead runs' directories in the
 * parent first (tempdir_reclaim). Returns 0, or -1 with err_msg() set (t is then safe to pass to
 * tempdir_remove).
 */
int tempdir_create(struct tempdir *t, const char *parent);

/* A fresh name `<prefix><n>` for a new entry of the run directory. */
void tempdir_name(struct tempdir *t, char prefix, char out[32]);

/*
 * Removes the run directories in the directory fd `parent` (host path ppath, for messages) whose
 * chyve died without removing them (SIGKILL, a crash): named run-<pid>-<hex>, owned by this user,
 * no process `pid` here, and not locked. Failures are skipped silently.
 */
void tempdir_reclaim(int parent, const char *ppath);

/* Removes the run directory and its contents (warning about what remains); idempotent. */
void tempdir_remove(struct tempdir *t);

#endif
