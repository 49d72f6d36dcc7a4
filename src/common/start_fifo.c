/* start_fifo.c: hold a ready VM until a byte arrives on a named pipe (start_fifo.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "start_fifo.h"

int start_fifo_open(const char *path)
{
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return err_set("cannot open the start FIFO %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
        close(fd);
        return err_set("the start FIFO %s is not a named pipe", path);
    }
    return fd;
}

int start_fifo_wait(int fd, int stop_fd)
{
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return err_set("cannot wait on the start FIFO: %s", strerror(errno));
        }
        if (p[1].revents)
            return 0;
        if (p[0].revents & POLLIN) {
            char b;
            ssize_t n = read(fd, &b, 1);
            if (n == 1)
                return 1;
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                return err_set("cannot read the start FIFO: %s", strerror(errno));
        } else if (p[0].revents) {
            return err_set("the start FIFO failed (poll events 0x%x)", (unsigned)p[0].revents);
        }
    }
}
