/* spec.c: config.json of an OCI bundle read into struct oci_spec, with jansson (spec.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "spec.h"

#define PATH_MAX_BYTES 4096

/*
 * The arguments of a "%s%s%s" that names member key of where: "root.path", or "ociVersion" at
 * the top level (where "").
 */
#define FIELD(where, key) (where), (where)[0] ? "." : "", (key)

/* A copy of s, or NULL with err_msg() set. */
static char *dup_str(const char *s)
{
    char *d = strdup(s);
    if (!d)
        err_set("out of memory");
    return d;
}

/* Whether the object o's member key is absent or JSON null. */
static bool absent(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return !v || json_is_null(v);
}

/* The string member key of o (required or not); -1 with err_msg() naming where when wrong. */
static int get_str(json_t *o, const char *key, const char *where, bool required, const char **out)
{
    *out = NULL;
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        if (required)
            return err_set("config.json: %s%s%s is missing", FIELD(where, key));
        return 0;
    }
    if (!json_is_string(v))
        return err_set("config.json: %s%s%s is not a string", FIELD(where, key));
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v))
        return err_set("config.json: %s%s%s holds a NUL character", FIELD(where, key));
    if (strlen(s) >= PATH_MAX_BYTES)
        return err_set("config.json: %s%s%s is longer than %d bytes", FIELD(where, key),
                       PATH_MAX_BYTES);
    *out = s;
    return 0;
}

/* The object member key of o, NULL if absent; -1 if present but not an object. */
static int get_obj(json_t *o, const char *key, const char *where, json_t **out)
{
    *out = NULL;
    if (absent(o, key))
        return 0;
    json_t *v = json_object_get(o, key);
    if (!json_is_object(v))
        return err_set("config.json: %s%s%s is not an object", FIELD(where, key));
    *out = v;
    return 0;
}

/* A JSON array of strings (key of o) as a NULL-terminated copy; max entries at most. */
static int get_strings(json_t *o, const char *key, const char *where, size_t max, char ***out,
                       size_t *n)
{
    *out = NULL;
    *n = 0;
    if (absent(o, key))
        return 0;
    json_t *a = json_object_get(o, key);
    if (!json_is_array(a))
        return err_set("config.json: %s%s%s is not an array", FIELD(where, key));
    size_t len = json_array_size(a);
    if (len > max)
        return err_set("config.json: %s%s%s has %zu entries, more than the %zu chyve passes on",
                       FIELD(where, key), len, max);
    char **v = calloc(len + 1, sizeof(*v));
    if (!v)
        return err_set("out of memory");
    *out = v;
    for (size_t i = 0; i < len; i++) {
        json_t *e = json_array_get(a, i);
        if (!json_is_string(e))
            return err_set("config.json: %s%s%s[%zu] is not a string", FIELD(where, key), i);
        if (strlen(json_string_value(e)) != json_string_length(e))
            return err_set("config.json: %s%s%s[%zu] holds a NUL character", FIELD(where, key), i);
        if (!(v[i] = dup_str(json_string_value(e))))
            return -1;
        (*n)++;
    }
    return 0;
}

/* The integer member key of o, if present (*set tells); -1 if not an integer. */
static int get_int(json_t *o, const char *key, const char *where, json_int_t *out, bool *set)
{
    *set = false;
    if (absent(o, key))
        return 0;
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return err_set("config.json: %s%s%s is not an integer", FIELD(where, key));
    *out = json_integer_value(v);
    *set = true;
    return 0;
}

/* The boolean member key of o (false if absent). */
static int get_bool(json_t *o, const char *key, const char *where, bool *out)
{
    *out = false;
    if (absent(o, key))
        return 0;
    json_t *v = json_object_get(o, key);
    if (!json_is_boolean(v))
        return err_set("config.json: %s%s%s is not a boolean", FIELD(where, key));
    *out = json_is_true(v);
    return 0;
}

/* Whether path is dir or lies beneath it ("/dev" holds "/dev" and "/dev/shm", not "/devx"). */
static bool beneath(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The number of CPUs a cpuset list ("0-3,7") names, or -1 if it is malformed. */
static long cpuset_count(const char *s)
{
    long count = 0;
    while (*s) {
        char *end;
        errno = 0;
        if (*s < '0' || *s > '9') /* strtol would take " 1" and "+1" */
            return -1;
        long a = strtol(s, &end, 10);
        if (end == s || errno || a < 0 || a > 65535)
            return -1;
        long b = a;
        if (*end == '-') {
            s = end + 1;
            if (*s < '0' || *s > '9')
                return -1;
            b = strtol(s, &end, 10);
            if (end == s || errno || b < a || b > 65535)
                return -1;
        }
        count += b - a + 1;
        if (*end == ',' && end[1] != '\0')
            end++;
        else if (*end)
            return -1; /* "1," too */
        s = end;
    }
    return count;
}

static int parse_process(json_t *p, struct oci_spec *s)
{
    if (get_strings(p, "args", "process", OCI_SPEC_MAX_ARGS, &s->args, &s->nargs) != 0 ||
        get_strings(p, "env", "process", OCI_SPEC_MAX_ENV, &s->env, &s->nenv) != 0 ||
        get_bool(p, "terminal", "process", &s->terminal) != 0)
        return -1;
    if (s->nargs == 0)
        return err_set("config.json: process.args is missing or empty: nothing to boot");
    if (s->args[0][0] == '\0')
        return err_set("config.json: process.args[0] is empty");
    for (size_t i = 0; i < s->nenv; i++)
        if (!strchr(s->env[i], '=') || s->env[i][0] == '=')
            return err_set("config.json: process.env[%zu] '%s' is not KEY=VALUE", i, s->env[i]);
    const char *cwd;
    if (get_str(p, "cwd", "process", false, &cwd) != 0)
        return -1;
    if (cwd && cwd[0] != '/')
        return err_set("config.json: process.cwd '%s' is not an absolute path", cwd);
    return (s->cwd = dup_str(cwd ? cwd : "/")) ? 0 : -1;
}

static int parse_mounts(json_t *root, struct oci_spec *s)
{
    if (absent(root, "mounts"))
        return 0;
    json_t *a = json_object_get(root, "mounts");
    if (!json_is_array(a))
        return err_set("config.json: mounts is not an array");
    size_t len = json_array_size(a);
    if (len > OCI_SPEC_MAX_MOUNTS)
        return err_set("config.json: %zu mounts, more than %d", len, OCI_SPEC_MAX_MOUNTS);
    if (len && !(s->mounts = calloc(len, sizeof(*s->mounts))))
        return err_set("out of memory");
    for (size_t i = 0; i < len; i++) {
        json_t *m = json_array_get(a, i);
        char where[32];
        snprintf(where, sizeof(where), "mounts[%zu]", i);
        if (!json_is_object(m))
            return err_set("config.json: %s is not an object", where);
        const char *dest, *type, *source;
        char **opts = NULL;
        size_t nopts = 0;
        int rc = -1;
        if (get_str(m, "destination", where, true, &dest) != 0 ||
            get_str(m, "type", where, false, &type) != 0 ||
            get_str(m, "source", where, false, &source) != 0 ||
            get_strings(m, "options", where, 64, &opts, &nopts) != 0)
            goto next;
        if (dest[0] != '/') {
            err_set("config.json: %s.destination '%s' is not an absolute path", where, dest);
            goto next;
        }
        bool bind = type && strcmp(type, "bind") == 0, ro = false;
        for (size_t k = 0; k < nopts; k++) {
            bind |= strcmp(opts[k], "bind") == 0 || strcmp(opts[k], "rbind") == 0;
            if (strcmp(opts[k], "ro") == 0)
                ro = true;
            else if (strcmp(opts[k], "rw") == 0)
                ro = false;
        }
        /* A Hermit guest has no /proc, /sys or /dev: what the engine mounts there is not for it. */
        if (!bind || beneath(dest, "/proc") || beneath(dest, "/sys") || beneath(dest, "/dev")) {
            rc = 0;
            goto next;
        }
        if (!source || source[0] != '/') {
            err_set("config.json: %s.source of the bind mount at %s is not an absolute path", where,
                    dest);
            goto next;
        }
        struct oci_mount *om = &s->mounts[s->nmounts];
        if (!(om->dest = dup_str(dest)) || !(om->source = dup_str(source)))
            goto next;
        om->ro = ro;
        s->nmounts++;
        rc = 0;
    next:
        for (size_t k = 0; k < nopts; k++)
            free(opts[k]);
        free(opts);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int parse_linux(json_t *root, struct oci_spec *s)
{
    json_t *lx, *res = NULL, *mem = NULL, *cpu = NULL;
    if (get_obj(root, "linux", "", &lx) != 0)
        return -1;
    if (!lx)
        return 0;
    if (get_obj(lx, "resources", "linux", &res) != 0 ||
        (res && (get_obj(res, "memory", "linux.resources", &mem) != 0 ||
                 get_obj(res, "cpu", "linux.resources", &cpu) != 0)))
        return -1;
    json_int_t v;
    bool set;
    if (mem) {
        if (get_int(mem, "limit", "linux.resources.memory", &v, &set) != 0)
            return -1;
        if (set && v > 0)
            s->mem_limit = (uint64_t)v;
        else if (set && v != -1)
            return err_set("config.json: linux.resources.memory.limit %lld is not a size",
                           (long long)v);
    }
    if (cpu) {
        json_int_t quota = 0, period = 0;
        bool qset, pset;
        const char *cpus;
        if (get_int(cpu, "quota", "linux.resources.cpu", &quota, &qset) != 0 ||
            get_int(cpu, "period", "linux.resources.cpu", &period, &pset) != 0 ||
            get_str(cpu, "cpus", "linux.resources.cpu", false, &cpus) != 0)
            return -1;
        if (qset && quota > 0) {
            if (!pset)
                period = 100000; /* the kernel's default CFS period */
            if (period <= 0)
                return err_set("config.json: linux.resources.cpu.period %lld is not positive",
                               (long long)period);
            json_int_t n = quota / period + (quota % period != 0); /* rounded up, no overflow */
            s->cpus = n > 64 ? 64 : (unsigned)n;
        } else if (cpus && *cpus) {
            long n = cpuset_count(cpus);
            if (n <= 0)
                return err_set("config.json: linux.resources.cpu.cpus '%s' is not a CPU list",
                               cpus);
            s->cpus = n > 64 ? 64 : (unsigned)n;
        }
    }
    if (absent(lx, "namespaces"))
        return 0;
    json_t *ns = json_object_get(lx, "namespaces");
    if (!json_is_array(ns))
        return err_set("config.json: linux.namespaces is not an array");
    for (size_t i = 0; i < json_array_size(ns); i++) {
        json_t *n = json_array_get(ns, i);
        char where[40];
        snprintf(where, sizeof(where), "linux.namespaces[%zu]", i);
        if (!json_is_object(n))
            return err_set("config.json: %s is not an object", where);
        const char *type, *path;
        if (get_str(n, "type", where, true, &type) != 0 ||
            get_str(n, "path", where, false, &path) != 0)
            return -1;
        if (strcmp(type, "network") != 0 || !path)
            continue;
        if (path[0] != '/')
            return err_set("config.json: %s.path '%s' is not an absolute path", where, path);
        free(s->netns);
        if (!(s->netns = dup_str(path)))
            return -1;
    }
    return 0;
}

int oci_spec_parse(const char *json, size_t len, const char *bundle, struct oci_spec *out)
{
    memset(out, 0, sizeof(*out));
    if (len > OCI_SPEC_MAX_BYTES)
        return err_set("config.json: larger than %u bytes", OCI_SPEC_MAX_BYTES);
    json_error_t jerr;
    /* \u0000 is let through to the checks of each field, whose errors name it. */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return err_set("config.json: line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    int rc = -1;
    json_t *proc, *rootfs;
    const char *ver, *path;
    if (!json_is_object(root)) {
        err_set("config.json: not a JSON object");
        goto out;
    }
    if (get_str(root, "ociVersion", "", true, &ver) != 0)
        goto out;
    if (strncmp(ver, "1.", 2) != 0) {
        err_set("config.json: ociVersion %s: chyve-oci reads version 1 specs", ver);
        goto out;
    }
    if (get_obj(root, "root", "", &rootfs) != 0 || get_obj(root, "process", "", &proc) != 0)
        goto out;
    if (!rootfs || !proc) {
        err_set("config.json: %s is missing", !rootfs ? "root" : "process");
        goto out;
    }
    if (get_str(rootfs, "path", "root", true, &path) != 0 ||
        get_bool(rootfs, "readonly", "root", &out->root_ro) != 0)
        goto out;
    if (path[0] == '\0') {
        err_set("config.json: root.path is empty"); /* it would be the whole bundle */
        goto out;
    }
    if (path[0] == '/') {
        out->root = dup_str(path);
    } else if (asprintf(&out->root, "%s/%s", bundle, path) < 0) {
        out->root = NULL;
        err_set("out of memory");
    }
    if (!out->root || parse_process(proc, out) != 0 || parse_mounts(root, out) != 0 ||
        parse_linux(root, out) != 0)
        goto out;
    json_t *ann = json_object_get(root, "annotations");
    if (ann && !json_is_null(ann)) {
        if (!json_is_object(ann)) {
            err_set("config.json: annotations is not an object");
            goto out;
        }
        /* They go into state.json and the state JSON, read back without JSON_ALLOW_NUL. */
        for (void *it = json_object_iter(ann); it; it = json_object_iter_next(ann, it)) {
            json_t *v = json_object_iter_value(it);
            if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v)) {
                err_set("config.json: annotations.%s holds a NUL character",
                        json_object_iter_key(it));
                goto out;
            }
        }
        if (!(out->annotations = json_dumps(ann, JSON_COMPACT))) {
            err_set("out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int oci_spec_load(const char *bundle, struct oci_spec *out)
{
    memset(out, 0, sizeof(*out));
    char *path;
    if (asprintf(&path, "%s/config.json", bundle) < 0)
        return err_set("out of memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        err_set("cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(path);
        return -1;
    }
    int rc = -1;
    char *buf = NULL;
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)OCI_SPEC_MAX_BYTES) {
        err_set("%s: not a regular file of at most %u bytes", path, OCI_SPEC_MAX_BYTES);
        goto out;
    }
    size_t len = (size_t)st.st_size, got = 0;
    if (!(buf = malloc(len + 1))) {
        err_set("out of memory");
        goto out;
    }
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err_set("cannot read %s: %s", path, n < 0 ? strerror(errno) : "it shrank");
            goto out;
        }
        got += (size_t)n;
    }
    rc = oci_spec_parse(buf, len, bundle, out);
out:
    free(buf);
    free(path);
    close(fd);
    return rc;
}

/* Frees a NULL-terminated string vector. */
static void free_vec(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void oci_spec_free(struct oci_spec *s)
{
    free(s->root);
    free_vec(s->args);
    free_vec(s->env);
    free(s->cwd);
    for (size_t i = 0; i < s->nmounts; i++) {
        free(s->mounts[i].dest);
        free(s->mounts[i].source);
    }
    free(s->mounts);
    free(s->netns);
    free(s->annotations);
    memset(s, 0, sizeof(*s));
}
