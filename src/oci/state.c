/* state.c: containers' records under --root, locked per container (state.h). */
#define _XOPEN_SOURCE 700
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "oci.h"
#include "state.h"

bool oci_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > OCI_ID_MAX || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '+'))
            return false;
    }
    return true;
}

int oci_state_path(char *buf, size_t len, const char *root, const char *id, const char *name)
{
    /* "" would make ROOT/ID the host's /ID: delete would remove /etc as container "etc" */
    if (!root[0])
        return err_set("the state directory (--root) is an empty path");
    int n = name ? snprintf(buf, len, "%s/%s/%s", root, id, name)
                 : snprintf(buf, len, "%s/%s", root, id);
    if (n < 0 || (size_t)n >= len)
        return err_set("the state path under %s is too long", root);
    return 0;
}

/* mkdir -p of path with mode 0700 for what it makes. */
static int mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return err_set("the state directory %s is too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return err_set("cannot make the state directory %s: %s", buf, strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    return 0;
}

/* Opens and locks the directory path; -1 with "does not exist" if it is gone once locked. */
static int lock_dir(const char *path, const char *id)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return err_set("container %s does not exist", id);
        return err_set("cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(fd);
            return err_set("cannot lock %s: %s", path, strerror(errno));
        }
    }
    /* A delete that held the lock before us removed the directory: st_nlink is then 0. */
    if (fstat(fd, &st) != 0 || st.st_nlink == 0) {
        close(fd);
        return err_set("container %s does not exist", id);
    }
    return fd;
}

int oci_state_create(const char *root, const char *id)
{
    char path[4096];
    if (oci_state_path(path, sizeof(path), root, id, NULL) != 0 || mkdirs(root) != 0)
        return -1;
    if (mkdir(path, 0700) != 0) {
        if (errno == EEXIST)
            return err_set("container %s already exists", id);
        return err_set("cannot make %s: %s", path, strerror(errno));
    }
    return lock_dir(path, id);
}

int oci_state_lock(const char *root, const char *id)
{
    char path[4096];
    if (oci_state_path(path, sizeof(path), root, id, NULL) != 0)
        return -1;
    return lock_dir(path, id);
}

/* st as the JSON object state.json holds (NULL when out of memory). */
static json_t *state_obj(const struct oci_state *st)
{
    json_t *o = json_object();
    json_t *ann = NULL;
    if (st->annotations)
        ann = json_loads(st->annotations, 0, NULL);
    if (!o || json_object_set_new(o, "id", json_string(st->id)) ||
        json_object_set_new(o, "bundle", json_string(st->bundle ? st->bundle : "")) ||
        json_object_set_new(o, "created", json_string(st->created ? st->created : "")) ||
        json_object_set_new(o, "pid", json_integer(st->pid)) ||
        json_object_set_new(o, "starttime", json_integer((json_int_t)st->starttime)) ||
        json_object_set_new(o, "started", json_boolean(st->started)) ||
        (st->netns && json_object_set_new(o, "netns", json_string(st->netns))) ||
        (ann && json_object_set_new(o, "annotations", ann))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int oci_state_write(const char *root, const struct oci_state *st)
{
    char path[4096], tmp[4096];
    if (oci_state_path(path, sizeof(path), root, st->id, "state.json") != 0 ||
        oci_state_path(tmp, sizeof(tmp), root, st->id, "state.json.new") != 0)
        return -1;
    json_t *o = state_obj(st);
    if (!o)
        return err_set("out of memory");
    int rc = json_dump_file(o, tmp, JSON_COMPACT);
    json_decref(o);
    if (rc != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return err_set("cannot write %s", path);
    }
    return 0;
}

/* A copy of o's string member key, NULL if it has none. */
static char *member_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? strdup(s) : NULL;
}

int oci_state_read(const char *root, const char *id, struct oci_state *st)
{
    memset(st, 0, sizeof(*st));
    char path[4096];
    if (oci_state_path(path, sizeof(path), root, id, "state.json") != 0)
        return -1;
    json_error_t jerr;
    json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        if (access(path, F_OK) != 0)
            return err_set("container %s does not exist", id);
        return err_set("%s: %s", path, jerr.text);
    }
    json_t *pid = json_object_get(o, "pid"), *stt = json_object_get(o, "starttime");
    json_t *ann = json_object_get(o, "annotations");
    st->id = strdup(id);
    st->bundle = member_str(o, "bundle");
    st->created = member_str(o, "created");
    st->pid = json_is_integer(pid) ? (int)json_integer_value(pid) : 0;
    st->starttime = json_is_integer(stt) ? (unsigned long long)json_integer_value(stt) : 0;
    st->started = json_is_true(json_object_get(o, "started"));
    st->netns = member_str(o, "netns");
    if (json_is_object(ann))
        st->annotations = json_dumps(ann, JSON_COMPACT);
    json_decref(o);
    if (!st->id || !st->bundle || !st->created) {
        oci_state_free(st);
        return err_set("%s is damaged", path);
    }
    return 0;
}

void oci_state_free(struct oci_state *st)
{
    free(st->id);
    free(st->bundle);
    free(st->created);
    free(st->annotations);
    free(st->netns);
    memset(st, 0, sizeof(*st));
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    return rc != 0 && errno != ENOENT ? -1 : 0;
}

int oci_state_remove(const char *root, const char *id)
{
    char path[4096];
    if (oci_state_path(path, sizeof(path), root, id, NULL) != 0)
        return -1;
    /* Depth first, never following a link, never leaving the file system. */
    if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0 && errno != ENOENT)
        return err_set("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

unsigned long long oci_proc_starttime(int pid, bool *zombie)
{
    *zombie = false;
    if (pid <= 0)
        return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces and ')': the fields resume after the last. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return 0;
    p += 2;
    *zombie = *p == 'Z' || *p == 'X';
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return 0;
        p++;
    }
    return strtoull(p, NULL, 10);
}

bool oci_state_alive(const struct oci_state *st)
{
    bool zombie;
    unsigned long long t = oci_proc_starttime(st->pid, &zombie);
    return t != 0 && t == st->starttime && !zombie;
}

enum oci_status oci_state_status(const struct oci_state *st)
{
    if (st->pid <= 0)
        return OCI_CREATING;
    if (!oci_state_alive(st))
        return OCI_STOPPED;
    return st->started ? OCI_RUNNING : OCI_CREATED;
}

const char *oci_status_name(enum oci_status s)
{
    static const char *const names[] = {"creating", "created", "running", "stopped"};
    return names[s];
}

char *oci_state_json(const struct oci_state *st, enum oci_status status, bool indent)
{
    json_t *o = json_object();
    json_t *ann = st->annotations ? json_loads(st->annotations, 0, NULL) : json_object();
    char *text = NULL;
    if (o && ann && !json_object_set_new(o, "ociVersion", json_string(OCI_RUNTIME_VERSION)) &&
        !json_object_set_new(o, "id", json_string(st->id)) &&
        !json_object_set_new(o, "status", json_string(oci_status_name(status))) &&
        !json_object_set_new(
            o, "pid",
            json_integer(status == OCI_STOPPED || status == OCI_CREATING ? 0 : st->pid)) &&
        !json_object_set_new(o, "bundle", json_string(st->bundle)) &&
        !json_object_set_new(o, "created", json_string(st->created)) &&
        !json_object_set_new(o, "owner", json_string("")) &&
        !json_object_set(o, "annotations", ann))
        text = json_dumps(o, indent ? JSON_INDENT(2) | JSON_PRESERVE_ORDER
                                    : JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ann);
    json_decref(o);
    return text;
}
