/*
 * test_oci_spec.c: chyve-oci's reading of a bundle's config.json (spec.c): a config.json as
 * podman writes it read to exactly the fields chyve-oci uses, and every kind of malformed
 * bundle refused with a message naming the field at fault.
 */
#include "oci_test.h"

#include <jansson.h>

#include "err.h"
#include "spec.h"

#define BUNDLE "/var/lib/bundles/c1"

static struct oci_spec s;

static void teardown(void)
{
    oci_spec_free(&s);
}

TestSuite(oci_spec, .fini = teardown);

/* text with every ' turned into " (JSON that reads well inside a C string). */
static char *q(const char *text)
{
    char *t = strdup(text);
    cr_assert(t);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    return t;
}

/* Parses text (quotes as in q()) for bundle BUNDLE into s. */
static int parse(const char *text)
{
    char *t = q(text);
    oci_spec_free(&s);
    int rc = oci_spec_parse(t, strlen(t), BUNDLE, &s);
    free(t);
    return rc;
}

/* Expects text to be refused with exactly msg. */
static void expect_error(const char *text, const char *msg)
{
    cr_assert_eq(parse(text), -1, "accepted, expected: %s\n%s", msg, text);
    cr_assert_str_eq(err_msg(), msg, "got: %s\nfor:\n%s", err_msg(), text);
}

/* The smallest spec chyve-oci takes, with `extra` members added at the top level. */
static char *minimal(const char *extra)
{
    char *t;
    cr_assert(asprintf(&t,
                       "{'ociVersion': '1.0.2', 'root': {'path': 'rootfs'}, "
                       "'process': {'args': ['/k']}%s%s}",
                       extra[0] ? ", " : "", extra) > 0);
    return t;
}

/* Expects minimal(extra) to be refused with exactly msg. */
static void expect_error_with(const char *extra, const char *msg)
{
    char *t = minimal(extra);
    expect_error(t, msg);
    free(t);
}

/* Parses minimal(extra), which must be accepted. */
static void expect_ok_with(const char *extra)
{
    char *t = minimal(extra);
    cr_assert_eq(parse(t), 0, "refused: %s\n%s", err_msg(), t);
    free(t);
}

/* The smallest spec as a JSON object, to add to. */
static json_t *base(void)
{
    json_t *o = json_pack("{s:s, s:{s:s}, s:{s:[s]}}", "ociVersion", "1.0.2", "root", "path", "/r",
                          "process", "args", "/k");
    cr_assert(o);
    return o;
}

/* Parses the JSON object o (taken) into s. */
static int parse_obj(json_t *o)
{
    char *t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    cr_assert(t);
    oci_spec_free(&s);
    int rc = oci_spec_parse(t, strlen(t), BUNDLE, &s);
    free(t);
    return rc;
}

/* Parses a spec whose process.args (key "args") or process.env ("env") has n entries. */
static int parse_with_n(const char *key, size_t n)
{
    json_t *o = base(), *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char v[32];
        snprintf(v, sizeof(v), "V%zu=x", i);
        json_array_append_new(a, json_string(v));
    }
    json_object_set_new(json_object_get(o, "process"), key, a);
    return parse_obj(o);
}

/* ---- a real config.json ---------------------------------------------------------------------- */

Test(oci_spec, podman_config)
{
    /* tests/unit/oci/podman-config.json: `podman run --memory 256m --cpus 1.5 --cpuset-cpus 0-3
     * -v /srv/data:/data:ro -w /srv ...` as podman 4 writes it, trimmed. */
    char bundle[] = CHYVE_SOURCE_ROOT "/tests/unit/oci/podman";
    char path[sizeof(bundle) + 32];
    snprintf(path, sizeof(path), "%s-config.json", bundle);
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s: %s", path, strerror(errno));
    static char text[64 << 10];
    size_t len = fread(text, 1, sizeof(text), f);
    fclose(f);
    cr_assert(len > 0 && len < sizeof(text));

    cr_assert_eq(oci_spec_parse(text, len, bundle, &s), 0, "%s", err_msg());
    cr_assert_str_eq(s.root, "/var/lib/containers/storage/overlay/5a7c0b1e44d3/merged");
    cr_assert_not(s.root_ro);
    cr_assert_eq(s.nargs, 3);
    cr_assert_str_eq(s.args[0], "/hello");
    cr_assert_str_eq(s.args[1], "--greeting");
    cr_assert_str_eq(s.args[2], "hi there");
    cr_assert_null(s.args[3]);
    cr_assert_eq(s.nenv, 6);
    cr_assert_str_eq(s.env[0], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    cr_assert_str_eq(s.env[2], "container=podman");
    cr_assert_str_eq(s.env[5], "HOME=/root");
    cr_assert_null(s.env[6]);
    cr_assert_str_eq(s.cwd, "/srv");
    cr_assert_not(s.terminal);

    /* proc, sysfs, tmpfs, devpts, mqueue, cgroup and the bind mount below /dev are not for a
     * Hermit guest; the four bind mounts left keep their order. */
    cr_assert_eq(s.nmounts, 4);
    cr_assert_str_eq(s.mounts[0].dest, "/etc/hostname");
    cr_assert_str_eq(s.mounts[0].source,
                     "/run/containers/storage/overlay-containers/3f1c2ab7e9d0/userdata/hostname");
    cr_assert_not(s.mounts[0].ro);
    cr_assert_str_eq(s.mounts[1].dest, "/etc/resolv.conf");
    cr_assert_not(s.mounts[1].ro);
    cr_assert_str_eq(s.mounts[2].dest, "/data");
    cr_assert_str_eq(s.mounts[2].source, "/srv/data");
    cr_assert(s.mounts[2].ro);
    /* no type, but "rbind"; "ro" then "rw": the last wins */
    cr_assert_str_eq(s.mounts[3].dest, "/scratch");
    cr_assert_str_eq(s.mounts[3].source, "/srv/scratch");
    cr_assert_not(s.mounts[3].ro);

    cr_assert_eq(s.mem_limit, 256ull << 20);
    cr_assert_eq(s.cpus, 2, "quota 150000 / period 100000 rounds up, and wins over cpus");
    cr_assert_str_eq(s.netns, "/run/netns/netns-8c1d0f5a-7e2b-4a61-9f3e-2b5c6d7e8f90");

    cr_assert(s.annotations);
    json_t *got = json_loads(s.annotations, 0, NULL);
    json_t *want =
        json_pack("{s:s, s:s, s:s, s:s}", "io.container.manager", "libpod",
                  "io.podman.annotations.autoremove", "TRUE", "org.opencontainers.image.stopSignal",
                  "15", "org.systemd.property.KillSignal", "15");
    cr_assert(got, "annotations are not JSON: %s", s.annotations);
    cr_assert(json_equal(got, want), "annotations: %s", s.annotations);
    cr_assert_null(strchr(s.annotations, '\n'), "not compact: %s", s.annotations);
    json_decref(got);
    json_decref(want);
}

Test(oci_spec, minimal_defaults)
{
    expect_ok_with("");
    cr_assert_str_eq(s.root, BUNDLE "/rootfs", "a relative root.path is the bundle's");
    cr_assert_str_eq(s.cwd, "/");
    cr_assert_eq(s.nargs, 1);
    cr_assert_eq(s.nenv, 0);
    cr_assert_eq(s.nmounts, 0);
    cr_assert_eq(s.mem_limit, 0);
    cr_assert_eq(s.cpus, 0);
    cr_assert_null(s.netns);
    cr_assert_null(s.annotations);
    cr_assert_not(s.root_ro || s.terminal);
}

Test(oci_spec, root_paths)
{
    cr_assert_eq(parse("{'ociVersion': '1.0.0', 'root': {'path': 'a/b', 'readonly': true},"
                       " 'process': {'args': ['k'], 'terminal': true}}"),
                 0, "%s", err_msg());
    cr_assert_str_eq(s.root, BUNDLE "/a/b");
    cr_assert(s.root_ro);
    cr_assert(s.terminal);
    cr_assert_eq(parse("{'ociVersion': '1.2.0', 'root': {'path': '/abs/rootfs'},"
                       " 'process': {'args': ['k']}}"),
                 0, "%s", err_msg());
    cr_assert_str_eq(s.root, "/abs/rootfs", "an absolute root.path is taken as it is");
    /* An empty root.path would be the bundle itself, config.json and all. */
    cr_assert_eq(parse("{'ociVersion': '1.0.0', 'root': {'path': ''}, 'process': {'args': ['k']}}"),
                 -1);
    cr_assert_str_eq(err_msg(), "config.json: root.path is empty");
}

Test(oci_spec, cpu_and_memory)
{
    expect_ok_with("'linux': {'resources': {'cpu': {'cpus': '0-3,7'}}}");
    cr_assert_eq(s.cpus, 5);
    expect_ok_with("'linux': {'resources': {'cpu': {'cpus': '2'}}}");
    cr_assert_eq(s.cpus, 1);
    expect_ok_with("'linux': {'resources': {'cpu': {'cpus': '0-127'}}}");
    cr_assert_eq(s.cpus, 64, "at most chyve's 64 vCPUs");
    expect_ok_with("'linux': {'resources': {'cpu': {'quota': 50000}}}");
    cr_assert_eq(s.cpus, 1, "half a CPU over the default period is one vCPU");
    expect_ok_with("'linux': {'resources': {'cpu': {'quota': 200000, 'period': 100000}}}");
    cr_assert_eq(s.cpus, 2);
    /* the largest quota, which quota + period - 1 would overflow */
    expect_ok_with("'linux': {'resources': {'cpu': {'quota': 9223372036854775807}}}");
    cr_assert_eq(s.cpus, 64);
    expect_ok_with("'linux': {'resources': {'cpu': {'quota': 9223372036854775807, "
                   "'period': 9223372036854775807}}}");
    cr_assert_eq(s.cpus, 1);
    expect_ok_with("'linux': {'resources': {'cpu': {'quota': 1, 'period': 9223372036854775807}}}");
    cr_assert_eq(s.cpus, 1);
    expect_ok_with("'linux': {'resources': {'cpu': {'quota': -1, 'period': 100000}}}");
    cr_assert_eq(s.cpus, 0, "quota -1 is no limit");
    expect_ok_with("'linux': {'resources': {'cpu': {'shares': 1024}}}");
    cr_assert_eq(s.cpus, 0);
    expect_ok_with("'linux': {'resources': {'memory': {'limit': -1}}}");
    cr_assert_eq(s.mem_limit, 0, "-1 is no limit");
    expect_ok_with("'linux': {'resources': {'memory': {'limit': 1073741824}}}");
    cr_assert_eq(s.mem_limit, 1ull << 30);
    expect_ok_with("'linux': {'resources': null, 'namespaces': [{'type': 'network'}]}");
    cr_assert_null(s.netns, "a network namespace without path is a new one: none to join");
}

/* ---- malformed bundles ----------------------------------------------------------------------- */

Test(oci_spec, not_json)
{
    cr_assert_eq(parse("{\n  'ociVersion': '1.0.2',\n  'root': {'path': 'r'\n}"), -1);
    const char *m = err_msg();
    cr_assert(strncmp(m, "config.json: line 4, column 1: ", 31) == 0, "%s", m);
    cr_assert_eq(parse(""), -1);
    cr_assert(strncmp(err_msg(), "config.json: line 1, column 0: ", 31) == 0, "%s", err_msg());
}

Test(oci_spec, not_an_object)
{
    expect_error("['ociVersion', '1.0.2']", "config.json: not a JSON object");
}

Test(oci_spec, duplicate_keys)
{
    cr_assert_eq(parse("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, 'root': {'path': '/'},"
                       " 'process': {'args': ['k']}}"),
                 -1, "a second root.path could mean the other rootfs to someone else");
    cr_assert_str_eq(err_msg(), "config.json: line 1, column 53: duplicate object key near "
                                "'\"root\"'");
}

Test(oci_spec, missing_fields)
{
    expect_error("{'root': {'path': 'r'}, 'process': {'args': ['k']}}",
                 "config.json: ociVersion is missing");
    expect_error("{'ociVersion': '1.0.2', 'process': {'args': ['k']}}",
                 "config.json: root is missing");
    expect_error("{'ociVersion': '1.0.2', 'root': {}, 'process': {'args': ['k']}}",
                 "config.json: root.path is missing");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'}}",
                 "config.json: process is missing");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, 'process': {}}",
                 "config.json: process.args is missing or empty: nothing to boot");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, 'process': {'args': []}}",
                 "config.json: process.args is missing or empty: nothing to boot");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, 'process': {'args': ['']}}",
                 "config.json: process.args[0] is empty");
}

Test(oci_spec, wrong_types)
{
    expect_error("{'ociVersion': 1, 'root': {'path': 'r'}, 'process': {'args': ['k']}}",
                 "config.json: ociVersion is not a string");
    expect_error("{'ociVersion': '0.9', 'root': {'path': 'r'}, 'process': {'args': ['k']}}",
                 "config.json: ociVersion 0.9: chyve-oci reads version 1 specs");
    expect_error("{'ociVersion': '1.0.2', 'root': 'r', 'process': {'args': ['k']}}",
                 "config.json: root is not an object");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, 'process': null}",
                 "config.json: process is missing");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, 'process': {'args': 'k'}}",
                 "config.json: process.args is not an array");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'}, 'process': {'args': ['k', 2]}}",
                 "config.json: process.args[1] is not a string");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r', 'readonly': 'yes'},"
                 " 'process': {'args': ['k']}}",
                 "config.json: root.readonly is not a boolean");
    expect_error_with("'linux': []", "config.json: linux is not an object");
    expect_error_with("'annotations': ['a']", "config.json: annotations is not an object");
    expect_error_with("'linux': {'namespaces': {}}",
                      "config.json: linux.namespaces is not an array");
    expect_error_with("'linux': {'namespaces': [{'type': 'network', 'path': 'netns/x'}]}",
                      "config.json: linux.namespaces[0].path 'netns/x' is not an absolute path");
}

Test(oci_spec, embedded_nul)
{
    /* A NUL would cut the C string short: root.path "r\0/etc" must not be taken for "r". */
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r\\u0000/etc'},"
                 " 'process': {'args': ['k']}}",
                 "config.json: root.path holds a NUL character");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'},"
                 " 'process': {'args': ['k', 'a\\u0000b']}}",
                 "config.json: process.args[1] holds a NUL character");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'},"
                 " 'process': {'args': ['k'], 'env': ['A=1\\u0000B=2']}}",
                 "config.json: process.env[0] holds a NUL character");
    expect_error_with("'annotations': {'a': 'x\\u0000y'}",
                      "config.json: annotations.a holds a NUL character");
    expect_error_with("'mounts': [{'destination': '/d\\u0000x', 'type': 'bind', 'source': '/s'}]",
                      "config.json: mounts[0].destination holds a NUL character");
    /* jansson itself refuses one in a key */
    cr_assert_eq(parse("{'ociVersion': '1.0.2', 'a\\u0000b': 1}"), -1);
    cr_assert(strstr(err_msg(), "config.json: line 1, column ") == err_msg() &&
                  strstr(err_msg(), "NUL byte in object key"),
              "%s", err_msg());
}

Test(oci_spec, bad_env_and_cwd)
{
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'},"
                 " 'process': {'args': ['k'], 'env': ['A=1', 'NOEQUALS']}}",
                 "config.json: process.env[1] 'NOEQUALS' is not KEY=VALUE");
    /* "host" alone would make chyve pass on its whole environment */
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'},"
                 " 'process': {'args': ['k'], 'env': ['host']}}",
                 "config.json: process.env[0] 'host' is not KEY=VALUE");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'},"
                 " 'process': {'args': ['k'], 'env': ['=x']}}",
                 "config.json: process.env[0] '=x' is not KEY=VALUE");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'},"
                 " 'process': {'args': ['k'], 'cwd': 'srv'}}",
                 "config.json: process.cwd 'srv' is not an absolute path");
    expect_error("{'ociVersion': '1.0.2', 'root': {'path': 'r'},"
                 " 'process': {'args': ['k'], 'cwd': 7}}",
                 "config.json: process.cwd is not a string");
}

Test(oci_spec, too_many)
{
    cr_assert_eq(parse_with_n("args", OCI_SPEC_MAX_ARGS), 0, "%s", err_msg());
    cr_assert_eq(s.nargs, OCI_SPEC_MAX_ARGS);
    cr_assert_eq(parse_with_n("args", OCI_SPEC_MAX_ARGS + 1), -1);
    cr_assert_str_eq(
        err_msg(), "config.json: process.args has 129 entries, more than the 128 chyve passes on");
    cr_assert_eq(parse_with_n("env", OCI_SPEC_MAX_ENV), 0, "%s", err_msg());
    cr_assert_eq(s.nenv, OCI_SPEC_MAX_ENV);
    cr_assert_eq(parse_with_n("env", OCI_SPEC_MAX_ENV + 1), -1);
    cr_assert_str_eq(err_msg(),
                     "config.json: process.env has 129 entries, more than the 128 chyve passes on");

    for (int n = OCI_SPEC_MAX_MOUNTS; n <= OCI_SPEC_MAX_MOUNTS + 1; n++) {
        json_t *o = base(), *mounts = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(mounts, json_pack("{s:s, s:s, s:s}", "destination", "/m", "type",
                                                    "bind", "source", "/src"));
        json_object_set_new(o, "mounts", mounts);
        if (n == OCI_SPEC_MAX_MOUNTS) {
            cr_assert_eq(parse_obj(o), 0, "%s", err_msg());
            cr_assert_eq(s.nmounts, OCI_SPEC_MAX_MOUNTS);
        } else {
            cr_assert_eq(parse_obj(o), -1);
            cr_assert_str_eq(err_msg(), "config.json: 257 mounts, more than 256");
        }
    }
}

Test(oci_spec, bad_mounts)
{
    expect_error_with("'mounts': {}", "config.json: mounts is not an array");
    expect_error_with("'mounts': ['/data']", "config.json: mounts[0] is not an object");
    expect_error_with("'mounts': [{'type': 'bind', 'source': '/x'}]",
                      "config.json: mounts[0].destination is missing");
    expect_error_with("'mounts': [{'destination': 'data', 'type': 'bind', 'source': '/x'}]",
                      "config.json: mounts[0].destination 'data' is not an absolute path");
    expect_error_with("'mounts': [{'destination': '/proc', 'type': 'proc', 'source': 'proc'},"
                      " {'destination': '/data', 'type': 'bind', 'source': 'data'}]",
                      "config.json: mounts[1].source of the bind mount at /data is not an "
                      "absolute path");
    expect_error_with("'mounts': [{'destination': '/data', 'options': ['rbind']}]",
                      "config.json: mounts[0].source of the bind mount at /data is not an "
                      "absolute path");
    expect_error_with("'mounts': [{'destination': '/d', 'type': 'bind', 'source': '/x',"
                      " 'options': 'ro'}]",
                      "config.json: mounts[0].options is not an array");
    /* below /proc, /sys and /dev nothing is checked, nor kept; "/devices" is not below /dev */
    expect_ok_with("'mounts': [{'destination': '/dev/shm', 'type': 'bind', 'source': 'rel'},"
                   " {'destination': '/devices', 'type': 'bind', 'source': '/d'}]");
    cr_assert_eq(s.nmounts, 1);
    cr_assert_str_eq(s.mounts[0].dest, "/devices");
}

Test(oci_spec, bad_limits)
{
    expect_error_with("'linux': {'resources': {'memory': {'limit': -5}}}",
                      "config.json: linux.resources.memory.limit -5 is not a size");
    expect_error_with("'linux': {'resources': {'memory': {'limit': 0}}}",
                      "config.json: linux.resources.memory.limit 0 is not a size");
    expect_error_with("'linux': {'resources': {'memory': {'limit': '256m'}}}",
                      "config.json: linux.resources.memory.limit is not an integer");
    expect_error_with("'linux': {'resources': {'memory': {'limit': 1.5e9}}}",
                      "config.json: linux.resources.memory.limit is not an integer");
    expect_error_with("'linux': {'resources': {'memory': []}}",
                      "config.json: linux.resources.memory is not an object");
    expect_error_with("'linux': {'resources': {'cpu': {'quota': 100000, 'period': 0}}}",
                      "config.json: linux.resources.cpu.period 0 is not positive");
    expect_error_with("'linux': {'resources': {'cpu': {'quota': 100000, 'period': -10}}}",
                      "config.json: linux.resources.cpu.period -10 is not positive");
    static const char *const bad_sets[] = {"a",   "1-",  "-1", "3-1", "1,,2", "0-65536",
                                           "1;2", "1 2", "1,", "+1",  " 1",   "1-+2"};
    for (size_t i = 0; i < sizeof(bad_sets) / sizeof(bad_sets[0]); i++) {
        char extra[128], msg[128];
        snprintf(extra, sizeof(extra), "'linux': {'resources': {'cpu': {'cpus': '%s'}}}",
                 bad_sets[i]);
        snprintf(msg, sizeof(msg), "config.json: linux.resources.cpu.cpus '%s' is not a CPU list",
                 bad_sets[i]);
        expect_error_with(extra, msg);
    }
}

/* ---- oci_spec_load: the file ----------------------------------------------------------------- */

static char dir[64];

static void load_setup(void)
{
    oci_test_dir(dir, sizeof(dir), "spec");
}

static void load_teardown(void)
{
    oci_spec_free(&s);
    oci_test_rmrf(dir);
}

Test(oci_spec, load, .init = load_setup, .fini = load_teardown)
{
    char *t = q("{'ociVersion': '1.0.2', 'root': {'path': 'rootfs'}, 'process': {'args': ['k']}}");
    oci_test_write(dir, "config.json", t, strlen(t));
    free(t);
    cr_assert_eq(oci_spec_load(dir, &s), 0, "%s", err_msg());
    char want[128];
    snprintf(want, sizeof(want), "%s/rootfs", dir);
    cr_assert_str_eq(s.root, want);
    cr_assert_str_eq(s.args[0], "k");
}

Test(oci_spec, load_missing, .init = load_setup, .fini = load_teardown)
{
    cr_assert_eq(oci_spec_load(dir, &s), -1);
    char want[160];
    snprintf(want, sizeof(want), "cannot read %s/config.json: No such file or directory", dir);
    cr_assert_str_eq(err_msg(), want);
}

Test(oci_spec, load_directory, .init = load_setup, .fini = load_teardown)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/config.json", dir);
    cr_assert_eq(mkdir(p, 0700), 0);
    cr_assert_eq(oci_spec_load(dir, &s), -1);
    char want[192];
    snprintf(want, sizeof(want), "%s: not a regular file of at most 4194304 bytes", p);
    cr_assert_str_eq(err_msg(), want);
}

Test(oci_spec, load_huge, .init = load_setup, .fini = load_teardown)
{
    /* valid JSON, all spaces after the object: refused by its size before it is read */
    size_t len = OCI_SPEC_MAX_BYTES + 1;
    char *t = malloc(len);
    cr_assert(t);
    memset(t, ' ', len);
    const char *head = "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"r\"}, "
                       "\"process\": {\"args\": [\"k\"]}}";
    memcpy(t, head, strlen(head));
    oci_test_write(dir, "config.json", t, len);
    cr_assert_eq(oci_spec_load(dir, &s), -1);
    char want[192];
    snprintf(want, sizeof(want), "%s/config.json: not a regular file of at most 4194304 bytes",
             dir);
    cr_assert_str_eq(err_msg(), want);
    /* the same text one byte shorter is at the limit, and read */
    oci_test_write(dir, "config.json", t, len - 1);
    cr_assert_eq(oci_spec_load(dir, &s), 0, "%s", err_msg());
    /* and oci_spec_parse refuses a buffer over the limit itself */
    oci_spec_free(&s);
    cr_assert_eq(oci_spec_parse(t, len, dir, &s), -1);
    cr_assert_str_eq(err_msg(), "config.json: larger than 4194304 bytes");
    free(t);
}
