/*
 * main.c: chyve-oci, an OCI runtime (the command line of runc and crun) that boots Hermit
 * containers in chyve VMs: global flags, then one command.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chyve_config.h"
#include "oci.h"

static const char usage[] =
    "Usage: chyve-oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ID\n"
    "\n"
    "An OCI runtime that boots Hermit containers in chyve VMs.\n"
    "\n"
    "Commands:\n"
    "  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] ID\n"
    "                 prepare the VM of the bundle's Hermit kernel, held before its\n"
    "                 first instruction\n"
    "  start ID       let it run\n"
    "  run [--bundle DIR] [--pid-file FILE] [--detach] ID\n"
    "                 create and start; without --detach, wait and pass on its exit status\n"
    "  state ID       print the container's state (runtime-spec JSON)\n"
    "  kill [--all] ID [SIGNAL]\n"
    "                 send SIGNAL (a name or number) [default: TERM]\n"
    "  delete [--force] ID\n"
    "                 remove a stopped container (--force: kill it first)\n"
    "  list [--format table|json] [--quiet]\n"
    "  features       print what chyve-oci supports (JSON)\n"
    "\n"
    "Global options:\n"
    "  --root DIR             container state [default: /run/chyve-oci, or\n"
    "                         $XDG_RUNTIME_DIR/chyve-oci when not root]\n"
    "  --log FILE             also write errors to FILE\n"
    "  --log-format text|json the --log format [default: text]\n"
    "  --debug                more messages\n"
    "  --systemd-cgroup, --cgroup-manager MANAGER, --rootless VALUE\n"
    "                         accepted and ignored: chyve-oci makes no cgroups\n"
    "  -v, --version          print the version\n"
    "  -h, --help             print this help\n"
    "\n"
    "Environment: CHYVE_OCI_CHYVE, the chyve to run [default: the chyve beside\n"
    "chyve-oci, then chyve on PATH].\n";

static const struct {
    const char *name;
    int (*fn)(const struct oci_global *, int, char **);
} commands[] = {
    {"create", oci_cmd_create}, {"start", oci_cmd_start},       {"run", oci_cmd_run},
    {"state", oci_cmd_state},   {"kill", oci_cmd_kill},         {"delete", oci_cmd_delete},
    {"list", oci_cmd_list},     {"features", oci_cmd_features},
};

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'},
        {"log", required_argument, NULL, 'l'},
        {"log-format", required_argument, NULL, 'f'},
        {"debug", no_argument, NULL, 'd'},
        {"systemd-cgroup", no_argument, NULL, 's'},
        {"cgroup-manager", required_argument, NULL, 'c'},
        {"rootless", required_argument, NULL, 'R'},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct oci_global g = {.argv0 = argv[0]};
    char root[4096];
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1;) {
        switch (c) {
        case 'r':
            g.root = optarg;
            break;
        case 'l':
            g.log = optarg;
            break;
        case 'f':
            if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
                oci_error(&g, "--log-format must be text or json, not '%s'", optarg);
                return 1;
            }
            g.log_json = !strcmp(optarg, "json");
            break;
        case 'd':
            g.debug = true;
            break;
        case 's':
        case 'c':
        case 'R':
            break;
        case 'v':
            printf("chyve-oci version %s\nspec: %s\n", CHYVE_VERSION, OCI_RUNTIME_VERSION);
            return 0;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            oci_error(&g, "unknown global option '%s' (chyve-oci --help lists them)",
                      argv[optind - 1]);
            return 1;
        }
    }
    if (optind >= argc) {
        fputs(usage, stderr);
        return 1;
    }
    if (!g.root) {
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        if (geteuid() != 0 && xdg && *xdg)
            snprintf(root, sizeof(root), "%s/chyve-oci", xdg);
        else
            snprintf(root, sizeof(root), "/run/chyve-oci");
        g.root = root;
    }
    const char *cmd = argv[optind];
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(&g, argc - optind, argv + optind);
    if (!strcmp(cmd, "exec") || !strcmp(cmd, "pause") || !strcmp(cmd, "resume") ||
        !strcmp(cmd, "update") || !strcmp(cmd, "checkpoint") || !strcmp(cmd, "restore"))
        oci_error(&g, "%s is not possible for a Hermit VM: the unikernel is one process", cmd);
    else
        oci_error(&g, "unknown command '%s' (chyve-oci --help lists them)", cmd);
    return 1;
}
