/*
 * stop_signals.h: SIGINT, SIGTERM and SIGHUP end a run cleanly. The signals are blocked in every
 * thread and taken by one thread of their own with sigwait(), so no handler runs at all: the
 * first signal stops the attached VM (vm_stop, "stopped by SIGTERM"), and the run then ends as
 * any failed run does (run directory removed, statistics written); a second one ends chyve at
 * once with 128 + that signal.
 */
#ifndef CHYVE_STOP_SIGNALS_H
#define CHYVE_STOP_SIGNALS_H

struct vm;

/*
 * Blocks the three signals in the calling thread and starts the thread that waits for them.
 * Call before any other thread exists (they inherit the blocked set). Returns 0 or -1 with
 * err_msg().
 */
int stop_signals_start(void);

/*
 * Makes vm the run the next signal stops (NULL: none; a signal is then only remembered). A
 * signal received before vm was attached stops it here, before this returns.
 */
void stop_signals_attach(struct vm *vm);

/*
 * Ends the signal thread (before chyve exits: no thread is left running at exit, which leak
 * checkers need). A signal that arrives after this stays blocked and pending until exit.
 */
void stop_signals_stop(void);

/* The first of the three signals received so far, or 0. */
int stop_signals_received(void);

#endif
