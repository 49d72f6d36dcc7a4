/*
 * test_oci_state.c: chyve-oci's container records (state.c): IDs, the per-container directory
 * and its lock (which serialises commands), state.json written and read back, removal that
 * stays inside the directory, the status of a real process (and of a reused pid), and the
 * runtime-spec state JSON engines read; also oci_signal_parse (manage.c).
 */
#include "oci_test.h"

#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "err.h"
#include "oci.h"
#include "state.h"

static char root[64];

static void setup(void)
{
    oci_test_dir(root, sizeof(root), "state");
}

static void teardown(void)
{
    oci_test_rmrf(root);
}

TestSuite(oci_state, .init = setup, .fini = teardown);

/* ROOT/rel in a static buffer (one of two: at most two at a time). */
static const char *at(const char *rel)
{
    static char p[2][128];
    static int next;
    char *b = p[next++ % 2];
    snprintf(b, sizeof(p[0]), "%s/%s", root, rel);
    return b;
}

static char id_c1[] = "c1", bundle[] = "/var/lib/bundles/c1",
            created[] = "2024-05-01T12:00:00.000000001Z",
            annotations[] = "{\"io.container.manager\":\"libpod\"}";

/* The state of c1 with the fields create writes; pid 0. */
static struct oci_state sample(void)
{
    return (struct oci_state){
        .id = id_c1, .bundle = bundle, .created = created, .annotations = annotations};
}

/* ---- IDs and paths --------------------------------------------------------------------------- */

Test(oci_state, id_valid)
{
    static const char *const good[] = {"a",   "c1", "3f1c2ab7e9d0", "my_app.v1+build-2",
                                       "...", "A-Z"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        cr_assert(oci_id_valid(good[i]), "'%s' refused", good[i]);
    static const char *const bad[] = {"",    ".",   "..",          "/",   "a/b", "../x",
                                      "a b", "a\n", "caf\xc3\xa9", "a:b", "*",   "-\x01"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_not(oci_id_valid(bad[i]), "'%s' accepted", bad[i]);

    char id[OCI_ID_MAX + 2];
    memset(id, 'a', OCI_ID_MAX);
    id[OCI_ID_MAX] = '\0';
    cr_assert(oci_id_valid(id), "1024 bytes is the most");
    id[OCI_ID_MAX] = 'a';
    id[OCI_ID_MAX + 1] = '\0';
    cr_assert_not(oci_id_valid(id), "1025 bytes");
}

Test(oci_state, path)
{
    char buf[64];
    cr_assert_eq(oci_state_path(buf, sizeof(buf), "/run/x", "c1", NULL), 0);
    cr_assert_str_eq(buf, "/run/x/c1");
    cr_assert_eq(oci_state_path(buf, sizeof(buf), "/run/x", "c1", "state.json"), 0);
    cr_assert_str_eq(buf, "/run/x/c1/state.json");
    cr_assert_eq(oci_state_path(buf, 20, "/run/x", "c1", "state.json"), -1);
    cr_assert_str_eq(err_msg(), "the state path under /run/x is too long");
    cr_assert_eq(oci_state_path(buf, 10, "/run/x", "c1", NULL), 0, "9 bytes and the NUL");
    cr_assert_eq(oci_state_path(buf, 9, "/run/x", "c1", NULL), -1);
}

Test(oci_state, empty_root)
{
    /* --root "": ROOT/ID would be /ID, and delete removes a directory it cannot read state of */
    cr_assert_eq(oci_state_lock("", "tmp"), -1, "locked /tmp as container tmp");
    cr_assert_str_eq(err_msg(), "the state directory (--root) is an empty path");
    cr_assert_eq(oci_state_create("", "c1"), -1);
    cr_assert_str_eq(err_msg(), "the state directory (--root) is an empty path");
    struct oci_state r;
    cr_assert_eq(oci_state_read("", "etc", &r), -1);
    cr_assert_str_eq(err_msg(), "the state directory (--root) is an empty path");
    cr_assert_eq(oci_state_remove("", "c1"), -1);
    cr_assert_str_eq(err_msg(), "the state directory (--root) is an empty path");
    char buf[64];
    cr_assert_eq(oci_state_path(buf, sizeof(buf), "", "c1", NULL), -1);
}

/* ---- the directory and its lock -------------------------------------------------------------- */

/* Whether another open file description of dir can take the lock now. */
static bool lockable(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert(fd >= 0, "%s: %s", dir, strerror(errno));
    bool yes = flock(fd, LOCK_EX | LOCK_NB) == 0;
    cr_assert(yes || errno == EWOULDBLOCK, "flock: %s", strerror(errno));
    close(fd);
    return yes;
}

Test(oci_state, create_and_lock)
{
    char r[128];
    snprintf(r, sizeof(r), "%s/a/b", root); /* parents are made */
    int fd = oci_state_create(r, "c1");
    cr_assert(fd >= 0, "%s", err_msg());
    struct stat st;
    cr_assert_eq(stat(at("a"), &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0700);
    cr_assert_eq(stat(at("a/b/c1"), &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    cr_assert_eq(st.st_mode & 07777, 0700);
    cr_assert_not(lockable(at("a/b/c1")), "create returns the directory locked");

    cr_assert_eq(oci_state_create(r, "c1"), -1);
    cr_assert_str_eq(err_msg(), "container c1 already exists");
    close(fd);
    cr_assert(lockable(at("a/b/c1")), "closing the fd unlocks");
    cr_assert_eq(oci_state_create(r, "c1"), -1, "unlocked, it still exists");
    cr_assert_str_eq(err_msg(), "container c1 already exists");

    fd = oci_state_lock(r, "c1");
    cr_assert(fd >= 0, "%s", err_msg());
    cr_assert_not(lockable(at("a/b/c1")));
    close(fd);

    cr_assert_eq(oci_state_lock(r, "nope"), -1);
    cr_assert_str_eq(err_msg(), "container nope does not exist");
    cr_assert_eq(oci_state_lock(at("missing-root"), "c1"), -1);
    cr_assert_str_eq(err_msg(), "container c1 does not exist");
}

/*
 * A child that locks c1, tells us over a pipe, holds the lock for hold_ms, then (with
 * remove) deletes the container, and unlocks by exiting. Returns its pid once it holds the lock.
 */
static pid_t holder(int hold_ms, bool remove)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        int fd = oci_state_lock(root, "c1");
        if (fd < 0)
            _exit(2);
        if (write(p[1], "L", 1) != 1)
            _exit(3);
        poll(NULL, 0, hold_ms);
        /* the mark of the release, made while the lock is still held */
        int m = open(at("released"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (m < 0 || (remove && oci_state_remove(root, "c1") != 0))
            _exit(4);
        _exit(0);
    }
    close(p[1]);
    char c;
    cr_assert_eq(read(p[0], &c, 1), 1, "the holder did not get the lock");
    close(p[0]);
    return pid;
}

static void reap(pid_t pid)
{
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cr_assert(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "holder status %#x", ws);
}

Test(oci_state, lockers_serialise)
{
    int fd = oci_state_create(root, "c1");
    cr_assert(fd >= 0, "%s", err_msg());
    close(fd);
    pid_t pid = holder(300, false);
    fd = oci_state_lock(root, "c1");
    cr_assert(fd >= 0, "%s", err_msg());
    /* the holder marks its release after 300 ms, before it unlocks */
    cr_assert(oci_test_exists(root, "released"), "got the lock while the other held it");
    close(fd);
    reap(pid);
}

Test(oci_state, lock_after_delete)
{
    /* A command waiting for the lock while a delete holds it finds the container gone. */
    int fd = oci_state_create(root, "c1");
    cr_assert(fd >= 0, "%s", err_msg());
    close(fd);
    pid_t pid = holder(200, true);
    cr_assert_eq(oci_state_lock(root, "c1"), -1);
    cr_assert_str_eq(err_msg(), "container c1 does not exist");
    reap(pid);
    cr_assert_not(oci_test_exists(root, "c1"));
}

/* ---- state.json ------------------------------------------------------------------------------ */

Test(oci_state, write_read)
{
    int fd = oci_state_create(root, "c1");
    cr_assert(fd >= 0, "%s", err_msg());
    struct oci_state w = sample();
    w.pid = 4242;
    w.starttime = 1ull << 40;
    w.started = true;
    cr_assert_eq(oci_state_write(root, &w), 0, "%s", err_msg());
    cr_assert_not(oci_test_exists(root, "c1/state.json.new"), "the temporary file is renamed");

    struct oci_state r;
    cr_assert_eq(oci_state_read(root, "c1", &r), 0, "%s", err_msg());
    cr_assert_str_eq(r.id, "c1");
    cr_assert_str_eq(r.bundle, w.bundle);
    cr_assert_str_eq(r.created, w.created);
    cr_assert_str_eq(r.annotations, w.annotations);
    cr_assert_eq(r.pid, 4242);
    cr_assert_eq(r.starttime, 1ull << 40);
    cr_assert(r.started);
    oci_state_free(&r);
    cr_assert_null(r.id, "freed and zeroed");

    /* rewritten whole: no annotations, not started, pid 0 */
    w = sample();
    w.annotations = NULL;
    cr_assert_eq(oci_state_write(root, &w), 0, "%s", err_msg());
    cr_assert_eq(oci_state_read(root, "c1", &r), 0, "%s", err_msg());
    cr_assert_null(r.annotations);
    cr_assert_eq(r.pid, 0);
    cr_assert_eq(r.starttime, 0);
    cr_assert_not(r.started);
    oci_state_free(&r);
    close(fd);
}

Test(oci_state, read_damaged)
{
    int fd = oci_state_create(root, "c1");
    cr_assert(fd >= 0, "%s", err_msg());
    struct oci_state r;
    cr_assert_eq(oci_state_read(root, "c1", &r), -1, "a create that died before writing it");
    cr_assert_str_eq(err_msg(), "container c1 does not exist");

    char want[320];
    const char *cut = "{\"id\": \"c1\", \"bundle\": \"/b\", \"crea";
    oci_test_write(root, "c1/state.json", cut, strlen(cut));
    cr_assert_eq(oci_state_read(root, "c1", &r), -1);
    snprintf(want, sizeof(want), "%s: ", at("c1/state.json"));
    cr_assert(strncmp(err_msg(), want, strlen(want)) == 0 && strlen(err_msg()) > strlen(want), "%s",
              err_msg());
    cr_assert_null(r.id);

    static const char *const damaged[] = {
        "[1]",
        "{\"pid\": 3}",
        "{\"bundle\": \"/b\", \"pid\": 3}",
        "{\"bundle\": 5, \"created\": \"t\"}",
        "{\"bundle\": \"/b\", \"created\": \"t\", \"created\": \"u\"}",
    };
    snprintf(want, sizeof(want), "%s is damaged", at("c1/state.json"));
    for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
        oci_test_write(root, "c1/state.json", damaged[i], strlen(damaged[i]));
        int rc = oci_state_read(root, "c1", &r);
        cr_assert_eq(rc, -1, "accepted: %s", damaged[i]);
        if (i < 4)
            cr_assert_str_eq(err_msg(), want, "for %s", damaged[i]);
        cr_assert_null(r.id);
    }
    /* the least that is whole */
    const char *least = "{\"bundle\": \"/b\", \"created\": \"t\", \"pid\": \"7\"}";
    oci_test_write(root, "c1/state.json", least, strlen(least));
    cr_assert_eq(oci_state_read(root, "c1", &r), 0, "%s", err_msg());
    cr_assert_eq(r.pid, 0, "a pid that is not a number is none");
    oci_state_free(&r);
    close(fd);
}

/* ---- removal --------------------------------------------------------------------------------- */

Test(oci_state, remove)
{
    int fd = oci_state_create(root, "c1");
    cr_assert(fd >= 0, "%s", err_msg());
    struct oci_state w = sample();
    cr_assert_eq(oci_state_write(root, &w), 0, "%s", err_msg());
    cr_assert_eq(mkfifo(at("c1/start"), 0600), 0);
    cr_assert_eq(mkdir(at("c1/run"), 0700), 0);
    cr_assert_eq(mkdir(at("c1/run/a"), 0700), 0);
    cr_assert_eq(mkdir(at("c1/run/a/b"), 0700), 0);
    oci_test_write(root, "c1/run/a/b/file", "x", 1);
    cr_assert_eq(mkdir(at("c1/run/empty"), 0700), 0);
    /* what lies outside, reached by symlinks that must be removed, not followed */
    cr_assert_eq(mkdir(at("outside"), 0700), 0);
    oci_test_write(root, "outside/keep", "k", 1);
    oci_test_write(root, "precious", "p", 1);
    cr_assert_eq(symlink(at("precious"), at("c1/link-file")), 0);
    cr_assert_eq(symlink(at("outside"), at("c1/link-dir")), 0);
    cr_assert_eq(symlink("../../outside", at("c1/run/up")), 0);
    cr_assert_eq(symlink("/nonexistent", at("c1/dangling")), 0);

    cr_assert_eq(oci_state_remove(root, "c1"), 0, "%s", err_msg());
    close(fd);
    cr_assert_not(oci_test_exists(root, "c1"));
    cr_assert(oci_test_exists(root, "precious"));
    cr_assert(oci_test_exists(root, "outside/keep"));
    cr_assert(oci_test_exists(root, "outside"));

    cr_assert_eq(oci_state_remove(root, "c1"), 0, "removing what is gone is done");
}

/* ---- status ---------------------------------------------------------------------------------- */

/*
 * A child that waits: for a byte on *ctl (then renames itself to name, answers on *ack and waits
 * again), or to be killed.
 */
static pid_t sleeper(int *ctl, int *ack, const char *name)
{
    int c[2], a[2];
    cr_assert_eq(pipe(c), 0);
    cr_assert_eq(pipe(a), 0);
    pid_t parent = getpid(), pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        /* gone with the test, even one that fails before it kills us */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        close(c[1]);
        close(a[0]);
        char b;
        if (read(c[0], &b, 1) == 1) {
            prctl(PR_SET_NAME, name);
            if (write(a[1], "r", 1) != 1)
                _exit(1);
        }
        for (;;)
            pause();
    }
    close(c[0]);
    close(a[1]);
    *ctl = c[1];
    *ack = a[0];
    return pid;
}

Test(oci_state, status_of_a_process)
{
    int ctl, ack;
    pid_t pid = sleeper(&ctl, &ack, "x");
    bool zombie = true;
    struct oci_state st = sample();
    st.pid = pid;
    st.starttime = oci_proc_starttime(pid, &zombie);
    cr_assert_neq(st.starttime, 0);
    cr_assert_not(zombie);
    cr_assert(oci_state_alive(&st));
    cr_assert_eq(oci_state_status(&st), OCI_CREATED);
    st.started = true;
    cr_assert_eq(oci_state_status(&st), OCI_RUNNING);

    /* the same pid, another process: a start time that is not the recorded one */
    struct oci_state reused = st;
    reused.starttime = st.starttime + 1;
    cr_assert_not(oci_state_alive(&reused));
    cr_assert_eq(oci_state_status(&reused), OCI_STOPPED);

    cr_assert_eq(kill(pid, SIGKILL), 0);
    /* killed, not yet reaped: a zombie, stopped */
    for (int i = 0; i < 2000; i++) {
        (void)oci_proc_starttime(pid, &zombie);
        if (zombie)
            break;
        poll(NULL, 0, 1);
    }
    cr_assert(zombie, "the killed child never showed as a zombie");
    cr_assert_eq(oci_proc_starttime(pid, &zombie), st.starttime, "a zombie keeps its start time");
    cr_assert_not(oci_state_alive(&st));
    cr_assert_eq(oci_state_status(&st), OCI_STOPPED);

    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    cr_assert_eq(oci_proc_starttime(pid, &zombie), 0, "reaped: no /proc entry");
    cr_assert_not(zombie);
    cr_assert_eq(oci_state_status(&st), OCI_STOPPED);
    close(ctl);
    close(ack);

    st.pid = 0;
    cr_assert_eq(oci_state_status(&st), OCI_CREATING, "no process yet");
    st.pid = -1;
    cr_assert_eq(oci_state_status(&st), OCI_CREATING);
    cr_assert_eq(oci_proc_starttime(-1, &zombie), 0);
}

Test(oci_state, starttime_odd_names)
{
    /* The command name may hold ") Z 1 (": the fields are counted from the last ')'. */
    int ctl, ack;
    pid_t pid = sleeper(&ctl, &ack, "a) Z 9 9 (b");
    bool zombie;
    unsigned long long t = oci_proc_starttime(pid, &zombie);
    cr_assert_neq(t, 0);
    char c;
    cr_assert_eq(write(ctl, "n", 1), 1);
    cr_assert_eq(read(ack, &c, 1), 1);
    char p[64], stat[512] = "";
    snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    cr_assert(f);
    cr_assert(fgets(stat, sizeof(stat), f));
    fclose(f);
    cr_assert(strstr(stat, "(a) Z 9 9 (b)"), "renamed: %s", stat);
    cr_assert_eq(oci_proc_starttime(pid, &zombie), t);
    cr_assert_not(zombie);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(ctl);
    close(ack);
}

/* ---- the state JSON -------------------------------------------------------------------------- */

/* oci_state_json(st, status) parsed back (checked to be an object). */
static json_t *state_json(const struct oci_state *st, enum oci_status status, bool indent)
{
    char *text = oci_state_json(st, status, indent);
    cr_assert(text);
    json_error_t e;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    cr_assert(json_is_object(o), "%s: %s", e.text, text);
    cr_assert_eq(strchr(text, '\n') != NULL, indent, "%s", text);
    free(text);
    return o;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

static json_int_t num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "%s is not an integer", key);
    return json_integer_value(v);
}

Test(oci_state, state_json)
{
    struct oci_state st = sample();
    st.pid = 4242;
    st.started = true;
    json_t *o = state_json(&st, OCI_RUNNING, true);
    cr_assert_str_eq(str(o, "ociVersion"), OCI_RUNTIME_VERSION);
    cr_assert_str_eq(str(o, "id"), "c1");
    cr_assert_str_eq(str(o, "status"), "running");
    cr_assert_eq(num(o, "pid"), 4242);
    cr_assert_str_eq(str(o, "bundle"), "/var/lib/bundles/c1");
    cr_assert_str_eq(str(o, "created"), "2024-05-01T12:00:00.000000001Z");
    cr_assert_str_eq(str(o, "owner"), "");
    json_t *ann = json_object_get(o, "annotations");
    cr_assert(json_is_object(ann));
    cr_assert_eq(json_object_size(ann), 1);
    cr_assert_str_eq(str(ann, "io.container.manager"), "libpod");
    cr_assert_eq(json_object_size(o), 8, "no starttime or started: they are chyve-oci's own");
    json_decref(o);

    o = state_json(&st, OCI_CREATED, false);
    cr_assert_str_eq(str(o, "status"), "created");
    cr_assert_eq(num(o, "pid"), 4242);
    json_decref(o);

    /* stopped (or not yet made): pid 0, whatever was recorded */
    o = state_json(&st, OCI_STOPPED, false);
    cr_assert_str_eq(str(o, "status"), "stopped");
    cr_assert_eq(num(o, "pid"), 0);
    json_decref(o);
    o = state_json(&st, OCI_CREATING, false);
    cr_assert_str_eq(str(o, "status"), "creating");
    cr_assert_eq(num(o, "pid"), 0);
    json_decref(o);

    st.annotations = NULL;
    o = state_json(&st, OCI_STOPPED, false);
    ann = json_object_get(o, "annotations");
    cr_assert(json_is_object(ann) && json_object_size(ann) == 0, "annotations {} when none");
    json_decref(o);
}

Test(oci_state, status_names)
{
    cr_assert_str_eq(oci_status_name(OCI_CREATING), "creating");
    cr_assert_str_eq(oci_status_name(OCI_CREATED), "created");
    cr_assert_str_eq(oci_status_name(OCI_RUNNING), "running");
    cr_assert_str_eq(oci_status_name(OCI_STOPPED), "stopped");
}

/* ---- oci_signal_parse (manage.c) ------------------------------------------------------------- */

Test(oci_state, signal_parse)
{
    cr_assert_eq(oci_signal_parse("TERM"), SIGTERM);
    cr_assert_eq(oci_signal_parse("SIGTERM"), SIGTERM);
    cr_assert_eq(oci_signal_parse("sigkill"), SIGKILL);
    cr_assert_eq(oci_signal_parse("Kill"), SIGKILL);
    cr_assert_eq(oci_signal_parse("HUP"), SIGHUP);
    cr_assert_eq(oci_signal_parse("SIGWINCH"), SIGWINCH);
    cr_assert_eq(oci_signal_parse("9"), SIGKILL);
    cr_assert_eq(oci_signal_parse("15"), SIGTERM);
    cr_assert_eq(oci_signal_parse("64"), 64, "real-time signals by number");
    cr_assert_eq(oci_signal_parse("0"), 0, "0 is no signal");
    cr_assert_eq(oci_signal_parse("65"), 0);
    cr_assert_eq(oci_signal_parse(""), 0);
    cr_assert_eq(oci_signal_parse("FOO"), 0);
    cr_assert_eq(oci_signal_parse("SIG"), 0);
    cr_assert_eq(oci_signal_parse("SIGSIGTERM"), 0);
    cr_assert_eq(oci_signal_parse("9x"), 0);
    cr_assert_eq(oci_signal_parse("99999999999999999999"), 0);
    cr_assert_eq(oci_signal_parse("TERM "), 0);
}
