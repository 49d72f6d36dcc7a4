/*
 * tempdir.c: one run's private temporary directory: creation, fresh names, removal of any depth,
 * and reclaiming the directories of runs that died without removing theirs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "files/tempdir.h"
#include "log.h"

/* Opens (creating if missing) the default parent $TMPDIR-or-/tmp/chyve-<uid>, checked. */
static int open_default_parent(char *path, size_t cap)
{
    const char *base = getenv("TMPDIR");
    if (!base || base[0] != '/')
        base = "/tmp";
    if ((size_t)snprintf(path, cap, "%s/chyve-%u", base, (unsigned)geteuid()) >= cap)
        return err_set("temporary directory path under '%s' is too long", base);
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return err_set("cannot create the temporary directory '%s': %s", path, strerror(errno));
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return err_set("cannot open the temporary directory '%s': %s", path, strerror(errno));
    struct stat st;
    /* In a shared /tmp someone else may have made it first: it must be ours and private. */
    if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 07777) != 0700) {
        close(fd);
        return err_set("temporary directory '%s' must be owned by uid %u and have mode 0700", path,
                       (unsigned)geteuid());
    }
    return fd;
}

int tempdir_create(struct tempdir *t, const char *parent)
{
    memset(t, 0, sizeof(*t));
    t->parent = t->fd = -1;
    char ppath[4096];
    if (parent) {
        snprintf(ppath, sizeof(ppath), "%s", parent);
        t->parent = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (t->parent < 0)
            return err_set("--tempdir '%s': %s", parent, strerror(errno));
    } else {
        t->parent = open_default_parent(ppath, sizeof(ppath));
        if (t->parent < 0)
            return -1;
    }
    tempdir_reclaim(t->parent, ppath);
    for (int tries = 0; tries < 16; tries++) {
        uint8_t r[6];
        if (getentropy(r, sizeof(r)) != 0)
            return err_set("no randomness for the temporary directory name: %s", strerror(errno));
        snprintf(t->name, sizeof(t->name), "run-%ld-%02x%02x%02x%02x%02x%02x", (long)getpid(), r[0],
                 r[1], r[2], r[3], r[4], r[5]);
        if (mkdirat(t->parent, t->name, 0700) == 0)
            break;
        int e = errno;
        t->name[0] = '\0';
        if (e != EEXIST)
            return err_set("cannot create a directory in '%s': %s", ppath, strerror(e));
    }
    if (!t->name[0])
        return err_set("cannot find a free temporary directory name in '%s'", ppath);
    t->fd = openat(t->parent, t->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    /* Held until the fd closes (the process ends): tells tempdir_reclaim() we are alive. */
    if (t->fd >= 0 && flock(t->fd, LOCK_EX) != 0)
        log_debug("cannot lock the run directory (%s): a later run will not reclaim it",
                  strerror(errno));
    size_t n = strlen(ppath) + strlen(t->name) + 2;
    t->path = malloc(n);
    if (t->fd < 0 || !t->path) {
        int e = errno;
        tempdir_remove(t);
        return err_set("cannot open the temporary directory in '%s': %s", ppath, strerror(e));
    }
    snprintf(t->path, n, "%s/%s", ppath, t->name);
    return 0;
}

void tempdir_name(struct tempdir *t, char prefix, char out[32])
{
    snprintf(out, 32, "%c%" PRIu64, prefix, ++t->counter);
}

/*
 * One directory on the path being removed: its identity (to check that ".." leads back to it)
 * and the names of the subdirectories still to remove, read in one pass.
 */
struct rm_level {
    dev_t dev;
    ino_t ino;
    char *name;  /* its name in the level above (NULL for the run directory) */
    char **subs; /* subdirectories found in it */
    size_t nsubs, next;
};

static void rm_level_free(struct rm_level *l)
{
    for (size_t i = l->next; i < l->nsubs; i++)
        free(l->subs[i]);
    free(l->subs);
    free(l->name);
}

/*
 * Reads directory fd once: unlinks everything but directories and collects the directories'
 * names into l. Uses one more fd while it reads. Returns 0, or -1 if something stayed.
 */
static int rm_scan(int fd, struct rm_level *l)
{
    int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    int rc = 0;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = -1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (unlinkat(fd, de->d_name, 0) != 0)
                rc = -1;
            continue;
        }
        if (l->nsubs == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **v = realloc(l->subs, ncap * sizeof(*v));
            if (!v) {
                rc = -1;
                continue;
            }
            l->subs = v;
            cap = ncap;
        }
        if ((l->subs[l->nsubs] = strdup(de->d_name)) != NULL)
            l->nsubs++;
        else
            rc = -1;
    }
    closedir(d);
    return rc;
}

/* Doubles the level stack; false if memory ran out. */
static bool grow_levels(struct rm_level **lv, size_t *cap)
{
    struct rm_level *v = realloc(*lv, *cap * 2 * sizeof(*v));
    if (!v)
        return false;
    *lv = v;
    *cap *= 2;
    return true;
}

/*
 * Removes everything inside directory `top` (never following symlinks), depth first without
 * recursion: whatever the depth, at most three fds are open at a time (the current directory,
 * its stream while it is read, the next one). Going up uses "..", checked against the device
 * and inode recorded on the way down, so a directory moved meanwhile stops the removal instead
 * of leading it elsewhere. Returns 0, or -1 if anything remains.
 */
static int remove_contents(int top)
{
    struct rm_level *lv = NULL;
    size_t depth = 0, cap = 0;
    int rc = 0, cur = dup(top);
    struct stat st;
    if (cur < 0 || fstat(cur, &st) != 0)
        goto out;
    cap = 16;
    if (!(lv = calloc(cap, sizeof(*lv))))
        goto out;
    lv[0] = (struct rm_level){.dev = st.st_dev, .ino = st.st_ino};
    if (rm_scan(cur, &lv[0]) != 0)
        rc = -1;
    depth = 1;
    while (depth > 0) {
        struct rm_level *l = &lv[depth - 1];
        if (l->next < l->nsubs) { /* down into the next subdirectory */
            char *name = l->subs[l->next++];
            int sub = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0 || fstat(sub, &st) != 0 || (depth == cap && !grow_levels(&lv, &cap))) {
                if (sub >= 0)
                    close(sub);
                free(name);
                rc = -1;
                continue;
            }
            close(cur);
            cur = sub;
            lv[depth] = (struct rm_level){.dev = st.st_dev, .ino = st.st_ino, .name = name};
            if (rm_scan(cur, &lv[depth]) != 0)
                rc = -1;
            depth++;
            continue;
        }
        if (depth == 1)
            break;
        /* l is done: back up to its parent and remove it there */
        int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct rm_level *p = &lv[depth - 2];
        if (up < 0 || fstat(up, &st) != 0 || st.st_dev != p->dev || st.st_ino != p->ino) {
            if (up >= 0)
                close(up);
            rc = -1;
            goto out; /* moved while we were inside: leave the rest */
        }
        close(cur);
        cur = up;
        if (unlinkat(cur, l->name, AT_REMOVEDIR) != 0)
            rc = -1;
        rm_level_free(l);
        depth--;
    }
    if (depth == 1) {
        rm_level_free(&lv[0]);
        depth = 0;
    }
out:
    if (cur < 0 || !lv)
        rc = -1;
    for (size_t i = 0; i < depth; i++)
        rm_level_free(&lv[i]);
    free(lv);
    if (cur >= 0)
        close(cur);
    return rc;
}

/*
 * Parses a run directory name "run-<pid>-<12 hex digits>"; returns the pid, or 0 if name is not
 * one (older runs' names had no pid: they are never touched).
 */
static long run_dir_pid(const char *name)
{
    if (strncmp(name, "run-", 4) != 0)
        return 0;
    const char *p = name + 4;
    long pid = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        pid = pid * 10 + (*p - '0');
        if (pid > 0x7FFFFFFF)
            return 0;
    }
    if (p == name + 4 || *p != '-' || strlen(p + 1) != 12)
        return 0;
    for (p++; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return pid;
}

/* Whether process pid may still exist here (EPERM: it does, another user's). */
static bool pid_alive(long pid)
{
    return pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

void tempdir_reclaim(int parent, const char *ppath)
{
    int pfd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = pfd < 0 ? NULL : fdopendir(pfd);
    if (!d) {
        if (pfd >= 0)
            close(pfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long pid = run_dir_pid(de->d_name);
        size_t len = strlen(de->d_name);
        if (pid <= 0 || len >= sizeof(((struct tempdir *)0)->name) || pid_alive(pid))
            continue;
        int fd = openat(parent, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat st;
        /*
         * Ours, and nobody holds its lock: the pid check alone could be fooled by a pid
         * namespace (another container's live chyve), the lock alone by the instant between a
         * live run's mkdir and its flock.
         */
        if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || flock(fd, LOCK_EX | LOCK_NB) != 0) {
            close(fd);
            continue;
        }
        struct tempdir old = {.parent = dup(parent), .fd = fd, .path = NULL};
        memcpy(old.name, de->d_name, len + 1);
        if (old.parent < 0) {
            close(fd);
            continue;
        }
        log_info("removing '%s/%s', left behind by chyve process %ld", ppath, old.name, pid);
        tempdir_remove(&old); /* closes fd, and with it the lock */
    }
    closedir(d);
}

void tempdir_remove(struct tempdir *t)
{
    if (t->fd >= 0) {
        if (remove_contents(t->fd) != 0 || unlinkat(t->parent, t->name, AT_REMOVEDIR) != 0)
            log_warn("could not remove all of the temporary directory '%s'",
                     t->path ? t->path : t->name);
        close(t->fd);
    } else if (t->parent >= 0 && t->name[0]) {
        unlinkat(t->parent, t->name, AT_REMOVEDIR); /* created but never opened */
    }
    if (t->parent >= 0)
        close(t->parent);
    free(t->path);
    t->parent = t->fd = -1;
    t->path = NULL;
    t->name[0] = '\0';
}
