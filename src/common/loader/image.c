/* image.c: Hermit images: gunzip, the archive's hermit.toml, the kernel, the run's arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define ZLIB_CONST /* next_in is const: inflate() does not write its input */
#include <zlib.h>

#include "config/size.h"
#include "err.h"
#include "le.h"
#include "loader/image.h"
#include "loader/toml.h"
#include "log.h"

bool image_is_gzip(const uint8_t *buf, size_t len)
{
    return len >= 3 && buf[0] == 0x1f && buf[1] == 0x8b && buf[2] == 0x08;
}

int image_gunzip(const uint8_t *gz, size_t len, size_t max, uint8_t **out, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) /* 16: gzip wrapper only */
        return err_set("cannot start gzip decompression");
    /*
     * The trailer's ISIZE (mod 2^32) is the sender's claim, not a fact: it only sizes the first
     * buffer, clamped to IMAGE_GUNZIP_HINT_MAX, and the buffer doubles as data really arrives (a
     * 20-byte stream claiming 4 GiB used to allocate max bytes at once).
     */
    size_t cap = len >= 4 ? (size_t)le32_get(gz + len - 4) : 0;
    cap = cap < 4096 ? 4096 : cap > IMAGE_GUNZIP_HINT_MAX ? IMAGE_GUNZIP_HINT_MAX : cap;
    if (cap > max)
        cap = max + 1;
    uint8_t *buf = malloc(cap);
    size_t got = 0;
    int rc = 0;
    zs.next_in = gz;
    while (buf) {
        if (got == cap) {
            if (cap > max)
                break; /* more than max bytes: reported below */
            size_t ncap = cap > max / 2 ? max + 1 : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        /* zlib counts in uInt: feed and drain at most 1 GiB per call. */
        size_t in_left = len - (size_t)((const uint8_t *)zs.next_in - gz);
        zs.avail_in = (uInt)(in_left > (1u << 30) ? (1u << 30) : in_left);
        zs.next_out = buf + got;
        zs.avail_out = (uInt)(cap - got > (1u << 30) ? (1u << 30) : cap - got);
        uInt before = zs.avail_out;
        int zr = inflate(&zs, Z_NO_FLUSH);
        got += before - zs.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = err_set("corrupt gzip data: %s", zs.msg ? zs.msg : "inflate failed");
            break;
        }
        /* Room left for output but all input used: the stream stops before its end. */
        if (zs.avail_out > 0 && (const uint8_t *)zs.next_in == gz + len) {
            rc = err_set("truncated gzip data");
            break;
        }
    }
    size_t used = (size_t)((const uint8_t *)zs.next_in - gz);
    inflateEnd(&zs);
    if (!buf && rc == 0)
        rc = err_set("out of memory decompressing");
    if (rc == 0 && buf && got > max)
        rc = err_set("decompresses to more than %zu MiB: too large (a decompression bomb?)",
                     max >> 20);
    if (rc == 0 && used != len)
        rc = err_set("%zu bytes of data after the gzip stream", len - used);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = got;
    return 0;
}

/* ---- hermit.toml --------------------------------------------------------------------------- */

/* The entry table.key if present with type t, via *e; error if present with another type. */
static int get(const struct toml_doc *d, const char *table, const char *key, enum toml_type t,
               bool required, const struct toml_entry **e)
{
    *e = toml_get(d, table, key);
    const char *dot = table[0] ? "." : "";
    if (!*e)
        return required ? err_set("hermit.toml: missing key '%s%s%s'", table, dot, key) : 0;
    if ((*e)->v.type != t)
        return err_set("hermit.toml: line %u: '%s%s%s' must be a%s %s, not a%s %s", (*e)->line,
                       table, dot, key, t == TOML_ARRAY || t == TOML_INT ? "n" : "",
                       toml_type_name(t),
                       (*e)->v.type == TOML_ARRAY || (*e)->v.type == TOML_INT ? "n" : "",
                       toml_type_name((*e)->v.type));
    return 0;
}

/* Copies an array of strings (NULL-terminated) out of the document. */
static int string_list(const struct toml_entry *e, char ***out, size_t *n)
{
    *out = calloc(e ? e->v.n + 1 : 1, sizeof(char *));
    if (!*out)
        return err_set("out of memory");
    *n = 0;
    for (size_t i = 0; e && i < e->v.n; i++) {
        if (e->v.items[i].type != TOML_STRING)
            return err_set("hermit.toml: line %u: '%s' must hold only strings", e->line, e->key);
        if (!((*out)[(*n)++] = strdup(e->v.items[i].s)))
            return err_set("out of memory");
    }
    return 0;
}

/* Warns about keys the schema does not know (they may come from a newer hermit-entry). */
static void warn_unknown(const struct toml_doc *d)
{
    static const char *const known[] = {"/version",         "/kernel",        "input/kernel_args",
                                        "input/app_args",   "input/env_vars", "requirements/memory",
                                        "requirements/cpus"};
    for (size_t i = 0; i < d->n; i++) {
        char k[512];
        snprintf(k, sizeof(k), "%s/%s", d->e[i].table, d->e[i].key);
        bool ok = false;
        for (size_t j = 0; j < sizeof(known) / sizeof(known[0]); j++)
            ok |= !strcmp(k, known[j]);
        if (!ok)
            log_warn("hermit.toml: line %u: unknown key '%s' ignored", d->e[i].line, d->e[i].key);
    }
}

/* [requirements]: memory as a size string or a byte count; cpus as an integer. */
static int requirements(const struct toml_doc *d, struct image_config *c)
{
    const struct toml_entry *e = toml_get(d, "requirements", "memory");
    if (e && e->v.type == TOML_STRING) {
        if (size_parse(e->v.s, &c->memory) != 0) {
            return err_prefix("hermit.toml: line %u: requirements.memory: ", e->line);
        }
    } else if (e && e->v.type == TOML_INT) {
        if (e->v.i < 0)
            return err_set("hermit.toml: line %u: requirements.memory is negative", e->line);
        c->memory = (uint64_t)e->v.i;
    } else if (e) {
        return err_set("hermit.toml: line %u: requirements.memory must be a size such as "
                       "\"64MiB\" or a number of bytes",
                       e->line);
    }
    if (get(d, "requirements", "cpus", TOML_INT, false, &e) != 0)
        return -1;
    if (e && (e->v.i < 0 || e->v.i > UINT32_MAX))
        return err_set("hermit.toml: line %u: requirements.cpus %lld is out of range", e->line,
                       (long long)e->v.i);
    c->cpus = e ? (uint32_t)e->v.i : 0;
    return 0;
}

int image_parse_config(const char *text, size_t len, struct image_config *c)
{
    memset(c, 0, sizeof(*c));
    struct toml_doc d;
    if (toml_parse(text, len, &d) != 0) {
        return err_prefix("hermit.toml: ");
    }
    const struct toml_entry *ver, *ker, *ka, *aa, *ev;
    int rc = get(&d, "", "version", TOML_STRING, true, &ver);
    if (rc == 0 && strcmp(ver->v.s, "1") != 0)
        rc = err_set("hermit.toml: line %u: unsupported version \"%s\" (chyve reads version \"1\")",
                     ver->line, ver->v.s);
    if (rc == 0)
        rc = get(&d, "", "kernel", TOML_STRING, true, &ker);
    if (rc == 0 && !ker->v.s[0])
        rc = err_set("hermit.toml: line %u: 'kernel' is empty", ker->line);
    if (rc == 0 && !(c->kernel = strdup(ker->v.s)))
        rc = err_set("out of memory");
    if (rc == 0)
        rc = get(&d, "input", "kernel_args", TOML_ARRAY, true, &ka);
    if (rc == 0)
        rc = get(&d, "input", "app_args", TOML_ARRAY, true, &aa);
    if (rc == 0)
        rc = get(&d, "input", "env_vars", TOML_ARRAY, false, &ev);
    if (rc == 0)
        rc = string_list(ka, &c->kernel_args, &c->nkernel_args);
    if (rc == 0)
        rc = string_list(aa, &c->app_args, &c->napp_args);
    if (rc == 0)
        rc = string_list(ev, &c->env, &c->nenv);
    if (rc == 0)
        rc = requirements(&d, c);
    if (rc == 0)
        warn_unknown(&d);
    toml_free(&d);
    if (rc != 0)
        image_config_free(c);
    return rc;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void image_config_free(struct image_config *c)
{
    free(c->kernel);
    free_list(c->kernel_args, c->nkernel_args);
    free_list(c->app_args, c->napp_args);
    free_list(c->env, c->nenv);
    memset(c, 0, sizeof(*c));
}

/* ---- the image ------------------------------------------------------------------------------ */

/* An entry's name and position, sorted to find duplicates. */
struct name_pos {
    const char *name;
    size_t pos;
    bool dir;
};

/* By name, then by position (so equal names keep the archive's order). */
static int by_name(const void *a, const void *b)
{
    const struct name_pos *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * A name held twice (two files, or a file and a directory; a directory may repeat) is an error
 * naming the duplicate that appears first in the archive. Sorting makes this O(n log n): the
 * pairwise check took half a minute on a 65 532-entry archive.
 */
static int check_duplicates(const struct tar_entry *e, size_t n)
{
    if (n < 2)
        return 0;
    struct name_pos *v = malloc(n * sizeof(*v));
    if (!v)
        return err_set("out of memory");
    for (size_t i = 0; i < n; i++)
        v[i] = (struct name_pos){e[i].name, i, e[i].dir};
    qsort(v, n, sizeof(*v), by_name);
    size_t first = n; /* archive position of the earliest duplicated name */
    for (size_t g = 0, end; g < n; g = end) {
        bool file = !v[g].dir;
        for (end = g + 1; end < n && !strcmp(v[end].name, v[g].name); end++)
            file |= !v[end].dir;
        if (end - g > 1 && file && v[g].pos < first)
            first = v[g].pos; /* the group's first position: ties sort by position */
    }
    free(v);
    if (first < n)
        return err_set("the archive holds '%s' twice", e[first].name);
    return 0;
}

/* The regular-file entry named `name` (already clean), or NULL. */
static const struct tar_entry *find(const struct image *img, const char *name)
{
    for (size_t i = 0; i < img->nentries; i++)
        if (!img->entries[i].dir && !strcmp(img->entries[i].name, name))
            return &img->entries[i];
    return NULL;
}

int image_open(const uint8_t *gz, size_t len, const char *name, struct image *img)
{
    memset(img, 0, sizeof(*img));
    if (image_gunzip(gz, len, IMAGE_MAX_SIZE, &img->tar, &img->tar_len) != 0 ||
        tar_read(img->tar, img->tar_len, &img->entries, &img->nentries) != 0)
        goto fail;
    if (check_duplicates(img->entries, img->nentries) != 0)
        goto fail;
    const struct tar_entry *conf = find(img, IMAGE_CONFIG);
    if (!conf) {
        err_set("the archive has no " IMAGE_CONFIG);
        goto fail;
    }
    if (image_parse_config((const char *)conf->data, (size_t)conf->size, &img->cfg) != 0)
        goto fail;
    /* The kernel path is cleaned like entry names ("./kernel" and "kernel" are the same). */
    const char *k = img->cfg.kernel;
    while (k[0] == '.' && k[1] == '/')
        k += 2;
    const struct tar_entry *kern = find(img, k);
    if (!kern) {
        err_set("the archive has no kernel '%s' (hermit.toml: kernel)", img->cfg.kernel);
        goto fail;
    }
    img->kernel = kern->data;
    img->kernel_len = (size_t)kern->size;
    return 0;
fail:
    image_free(img);
    return err_prefix("Hermit image '%s': ", name);
}

/* Position of the variable of "KEY=VALUE" entry e in v[0, n), or n. */
static size_t find_var(const char **v, size_t n, const char *e)
{
    size_t klen = strcspn(e, "=");
    for (size_t i = 0; i < n; i++)
        if (!strncmp(v[i], e, klen) && v[i][klen] == '=')
            return i;
    return n;
}

int image_apply(struct image *img, const struct vm_config *user, const struct vm_config **out)
{
    const struct image_config *c = &img->cfg;
    if (c->memory && user->mem_size < c->memory)
        return err_set("the image needs at least %llu MiB of guest memory (hermit.toml), this run "
                       "has %llu MiB: use -m",
                       (unsigned long long)((c->memory + (1 << 20) - 1) >> 20),
                       (unsigned long long)(user->mem_size >> 20));
    if (c->cpus && user->ncpus < c->cpus)
        return err_set("the image needs at least %u CPUs (hermit.toml), this run has %u: use -c",
                       c->cpus, user->ncpus);
    img->run = *user;
    if (user->nargs == 0) {
        size_t n = c->nkernel_args + (c->napp_args ? 1 + c->napp_args : 0);
        free(img->args);
        if (!(img->args = calloc(n + 1, sizeof(char *))))
            return err_set("out of memory");
        size_t k = 0;
        for (size_t i = 0; i < c->nkernel_args; i++)
            img->args[k++] = c->kernel_args[i];
        if (c->napp_args)
            img->args[k++] = "--";
        for (size_t i = 0; i < c->napp_args; i++)
            img->args[k++] = c->app_args[i];
        img->run.args = img->args;
        img->run.nargs = k;
    }
    /* Image variables first (those without '=' dropped, as uhyve), the user's override them. */
    free(img->env);
    if (!(img->env = calloc(c->nenv + user->nenv + 1, sizeof(char *))))
        return err_set("out of memory");
    size_t n = 0;
    for (size_t i = 0; i < c->nenv; i++)
        if (strchr(c->env[i], '=') && c->env[i][0] != '=' && find_var(img->env, n, c->env[i]) == n)
            img->env[n++] = c->env[i];
    for (size_t i = 0; i < user->nenv; i++) {
        size_t at = find_var(img->env, n, user->env[i]);
        img->env[at] = user->env[i];
        if (at == n)
            n++;
    }
    img->run.env = img->env;
    img->run.nenv = n;
    *out = &img->run;
    return 0;
}

void image_free(struct image *img)
{
    free(img->tar);
    tar_free(img->entries, img->nentries);
    image_config_free(&img->cfg);
    free(img->args);
    free(img->env);
    memset(img, 0, sizeof(*img));
}
