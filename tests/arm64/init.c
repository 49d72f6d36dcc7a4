/*
 * init.c: PID 1 of the arm64 test initramfs: mounts the pseudo file systems, loads the kernel
 * modules in /lib/modules (tun.ko, for the network cases), runs /driver with the kernel
 * command-line words after "--", prints an exit marker for the harness, powers off.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 64

/* Mounts one pseudo file system, saying so if it fails (a missing /dev/kvm follows from it). */
static void mount_fs(const char *src, const char *dir, const char *type)
{
    mkdir(dir, 0755);
    if (mount(src, dir, type, 0, NULL) != 0 && errno != EBUSY)
        printf("init: mount %s on %s: %s\n", type, dir, strerror(errno));
}

#define MODULES_DIR "/lib/modules"
#define MODULE_INIT_COMPRESSED_FILE 4 /* linux/module.h: the kernel decompresses .ko.xz etc. */

/* Loads every module file in MODULES_DIR with finit_module(2), saying how each went. */
static void load_modules(void)
{
    DIR *d = opendir(MODULES_DIR);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        const char *dot = strstr(e->d_name, ".ko");
        if (!dot)
            continue;
        char path[300];
        snprintf(path, sizeof(path), "%s/%s", MODULES_DIR, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        int flags = dot[3] ? MODULE_INIT_COMPRESSED_FILE : 0;
        if (fd < 0 || syscall(SYS_finit_module, fd, "", flags) != 0)
            printf("init: cannot load %s: %s\n", path, strerror(errno));
        else
            printf("init: loaded %s\n", e->d_name);
        if (fd >= 0)
            close(fd);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    mount_fs("devtmpfs", "/dev", "devtmpfs");
    mount_fs("proc", "/proc", "proc");
    mount_fs("sysfs", "/sys", "sysfs");
    mount_fs("tmpfs", "/tmp", "tmpfs");
    load_modules();
    printf("init: /dev/kvm %s\n", access("/dev/kvm", R_OK | W_OK) == 0 ? "present" : "MISSING");

    static char driver[] = "/driver", path[] = "PATH=/usr/bin:/bin";
    char *dargv[MAX_ARGS + 2] = {driver};
    int n = 1;
    for (int i = 1; i < argc && n <= MAX_ARGS; i++)
        dargv[n++] = argv[i];
    dargv[n] = NULL;

    int status = 125;
    pid_t pid = fork();
    if (pid == 0) {
        char *envp[] = {path, NULL};
        execve(driver, dargv, envp);
        printf("init: cannot run /driver: %s\n", strerror(errno));
        _exit(125);
    }
    if (pid > 0) {
        int ws;
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    } else {
        printf("init: fork: %s\n", strerror(errno));
    }
    printf("\n@@CHYVE_ARM64_EXIT=%d@@\n", status);
    sync();
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}
