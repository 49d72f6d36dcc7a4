/*
 * start_fifo.h: --start-fifo, a VM made ready and held before its first instruction until
 * another process writes a byte to a named pipe (how chyve-oci separates create from start).
 */
#ifndef CHYVE_START_FIFO_H
#define CHYVE_START_FIFO_H

/*
 * Opens the FIFO at path for reading and writing, close-on-exec and non-blocking: holding the
 * write side too means the open never waits and the pipe never reports a hang-up, and a
 * writer's open(O_WRONLY | O_NONBLOCK) succeeds from now on (chyve-oci create's sign that the
 * VM is ready). Refuses anything but a FIFO. Returns the fd, or -1 with err_msg().
 */
int start_fifo_open(const char *path);

/*
 * Waits until a byte can be read from fd (and reads it) or stop_fd becomes readable (the
 * VM's wake pipe: a stop signal came). Returns 1 when started, 0 when stopped, -1 with
 * err_msg() on a failure of poll or read.
 */
int start_fifo_wait(int fd, int stop_fd);

#endif
