/* manage.c: state, kill, delete, list and features: commands on containers that exist. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "err.h"
#include "net.h"
#include "oci.h"
#include "state.h"

#define KILL_WAIT_MS 10000 /* delete --force waits this long for a killed VM to go */

static const struct {
    const char *name;
    int sig;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},
    {"KILL", SIGKILL},     {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"CHLD", SIGCHLD},
    {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

int oci_signal_parse(const char *s)
{
    if (*s >= '0' && *s <= '9') {
        char *end;
        long n = strtol(s, &end, 10);
        return *end == '\0' && n > 0 && n < NSIG ? (int)n : 0;
    }
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        if (strcasecmp(s, signals[i].name) == 0)
            return signals[i].sig;
    return 0;
}

int oci_cmd_state(const struct oci_global *g, int argc, char **argv)
{
    if (argc != 2 || !oci_id_valid(argv[1])) {
        oci_error(g, "state needs exactly one container ID");
        return 1;
    }
    int lockfd = oci_state_lock(g->root, argv[1]);
    struct oci_state st;
    if (lockfd < 0 || oci_state_read(g->root, argv[1], &st) != 0) {
        oci_error(g, "%s", err_msg());
        if (lockfd >= 0)
            close(lockfd);
        return 1;
    }
    char *text = oci_state_json(&st, oci_state_status(&st), true);
    oci_state_free(&st);
    close(lockfd);
    if (!text) {
        oci_error(g, "out of memory");
        return 1;
    }
    puts(text);
    free(text);
    return 0;
}

int oci_cmd_kill(const struct oci_global *g, int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    bool all = false;
    for (int c; (c = getopt_long(argc, argv, "+a", opts, NULL)) != -1;) {
        if (c != 'a') {
            oci_error(g, "kill: unknown option '%s'", argv[optind - 1]);
            return 1;
        }
        all = true;
    }
    if (argc - optind < 1 || argc - optind > 2 || !oci_id_valid(argv[optind])) {
        oci_error(g, "usage: kill [--all] ID [SIGNAL]");
        return 1;
    }
    const char *id = argv[optind];
    int sig = argc - optind == 2 ? oci_signal_parse(argv[optind + 1]) : SIGTERM;
    if (!sig) {
        oci_error(g, "kill: '%s' is not a signal", argv[optind + 1]);
        return 1;
    }
    int lockfd = oci_state_lock(g->root, id);
    struct oci_state st;
    if (lockfd < 0 || oci_state_read(g->root, id, &st) != 0) {
        oci_error(g, "%s", err_msg());
        if (lockfd >= 0)
            close(lockfd);
        return 1;
    }
    int rc = 0;
    enum oci_status now = oci_state_status(&st);
    if (now != OCI_CREATED && now != OCI_RUNNING) {
        /* As runc: --all of an ended container is done; a plain kill says "container not
         * running", the words containerd's shim takes for "already gone". */
        if (!all) {
            oci_error(g, "container not running: %s is %s", id, oci_status_name(now));
            rc = 1;
        }
    } else if (kill(st.pid, sig) != 0) {
        oci_error(g, "cannot signal container %s: %s", id, strerror(errno));
        rc = 1;
    }
    oci_state_free(&st);
    close(lockfd);
    return rc;
}

/* Whether ROOT/ID holds at most the start FIFO and a half-written state.json.new. */
static bool bare_dir(const char *root, const char *id)
{
    char path[4096];
    if (oci_state_path(path, sizeof(path), root, id, NULL) != 0)
        return false;
    DIR *d = opendir(path);
    if (!d)
        return false;
    bool bare = true;
    for (struct dirent *e; bare && (e = readdir(d));)
        bare = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "start") ||
               !strcmp(e->d_name, "state.json.new");
    closedir(d);
    return bare;
}

int oci_cmd_delete(const struct oci_global *g, int argc, char **argv)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    bool force = false;
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "+f", opts, NULL)) != -1;) {
        if (c != 'f') {
            oci_error(g, "delete: unknown option '%s'", argv[optind - 1]);
            return 1;
        }
        force = true;
    }
    if (argc - optind != 1 || !oci_id_valid(argv[optind])) {
        oci_error(g, "usage: delete [--force] ID");
        return 1;
    }
    const char *id = argv[optind];
    int lockfd = oci_state_lock(g->root, id);
    if (lockfd < 0) {
        if (force && strstr(err_msg(), "does not exist"))
            return 0; /* as runc: nothing to delete is done */
        oci_error(g, "%s", err_msg());
        return 1;
    }
    struct oci_state st;
    int rc = 0;
    /*
     * A directory without a readable state is a create that died half-way: removed only if it
     * holds nothing but what create makes before state.json (so that a wrong --root cannot make
     * delete empty a directory that was never a container's).
     */
    if (oci_state_read(g->root, id, &st) != 0) {
        if (!bare_dir(g->root, id)) {
            oci_error(g, "%s/%s has no readable state.json and holds other files: not removed",
                      g->root, id);
            rc = 1;
        }
    } else {
        enum oci_status now = oci_state_status(&st);
        if ((now == OCI_CREATED || now == OCI_RUNNING) && !force) {
            oci_error(g, "cannot delete container %s that is not stopped: %s", id,
                      oci_status_name(now));
            rc = 1;
        } else if (now == OCI_CREATED || now == OCI_RUNNING) {
            kill(st.pid, SIGKILL);
            for (int waited = 0; oci_state_alive(&st) && waited < KILL_WAIT_MS; waited += 5)
                poll(NULL, 0, 5);
            if (oci_state_alive(&st)) {
                oci_error(g, "container %s did not end after SIGKILL", id);
                rc = 1;
            }
        }
        /* The VM is gone: give the namespace its interface back (a namespace already gone,
         * or never plumbed, has nothing to undo). */
        if (rc == 0 && st.netns && oci_net_enter(st.netns) == 0 &&
            oci_net_unplumb(OCI_TAP_NAME) != 0)
            oci_error(g, "container %s (deleted all the same): %s", id, err_msg());
        oci_state_free(&st);
    }
    if (rc == 0 && oci_state_remove(g->root, id) != 0) {
        oci_error(g, "%s", err_msg());
        rc = 1;
    }
    close(lockfd);
    return rc;
}

int oci_cmd_list(const struct oci_global *g, int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {NULL, 0, NULL, 0}};
    bool json = false, quiet = false;
    optind = 1;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "+f:q", opts, NULL)) != -1;) {
        if (c == 'f' && (!strcmp(optarg, "json") || !strcmp(optarg, "table"))) {
            json = !strcmp(optarg, "json");
        } else if (c == 'q') {
            quiet = true;
        } else {
            oci_error(g, "usage: list [--format table|json] [--quiet]");
            return 1;
        }
    }
    json_t *all = json ? json_array() : NULL;
    if (!quiet && !json)
        printf("%-20s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
    DIR *d = opendir(g->root);
    for (struct dirent *e; d && (e = readdir(d));) {
        struct oci_state st;
        if (!oci_id_valid(e->d_name) || oci_state_read(g->root, e->d_name, &st) != 0)
            continue;
        enum oci_status now = oci_state_status(&st);
        if (json) {
            char *text = oci_state_json(&st, now, false);
            json_t *o = text ? json_loads(text, 0, NULL) : NULL;
            if (o)
                json_array_append_new(all, o);
            free(text);
        } else if (quiet) {
            puts(st.id);
        } else {
            printf("%-20s %-8d %-10s %-40s %s\n", st.id,
                   now == OCI_STOPPED || now == OCI_CREATING ? 0 : st.pid, oci_status_name(now),
                   st.bundle, st.created);
        }
        oci_state_free(&st);
    }
    if (d)
        closedir(d);
    if (json) {
        char *text = json_dumps(all, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(text ? text : "[]");
        free(text);
        json_decref(all);
    }
    return 0;
}

int oci_cmd_features(const struct oci_global *g, int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        oci_error(g, "features takes no arguments");
        return 1;
    }
    /* What config.json fields mean something here (runtime-spec features.md). */
    puts("{\n"
         "  \"ociVersionMin\": \"1.0.0\",\n"
         "  \"ociVersionMax\": \"" OCI_RUNTIME_VERSION "\",\n"
         "  \"hooks\": [],\n"
         "  \"mountOptions\": [\"bind\", \"rbind\", \"ro\", \"rw\"],\n"
         "  \"linux\": {\n"
         "    \"namespaces\": [\"network\"],\n"
         "    \"capabilities\": [],\n"
         "    \"cgroup\": {\"v1\": false, \"v2\": false, \"systemd\": false},\n"
         "    \"seccomp\": {\"enabled\": false},\n"
         "    \"apparmor\": {\"enabled\": false},\n"
         "    \"selinux\": {\"enabled\": false}\n"
         "  },\n"
         "  \"annotations\": {\n"
         "    \"org.chyve.oci.guest\": \"hermit\"\n"
         "  }\n"
         "}");
    return 0;
}
