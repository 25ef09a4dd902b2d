/* interrupt.h -- the kit's one answer to Ctrl-C and kill: stop, tidy, report.
 *
 * Every program keeps the same promise when it is interrupted:
 *
 *   first SIGINT or SIGTERM  stop starting new work, end or cancel what is
 *                            in flight within a second, write the trace rows
 *                            of what finished plus `cancelled` rows, print
 *                            the summary, exit 130 (SIGINT) or 143 (SIGTERM)
 *   second signal            end at once: _exit(128 + signal number)
 *
 * The signal handler only records the signal and wakes interrupt_fd(); the
 * program itself notices, at its own safe points:
 *
 *     interrupt_install();
 *     for (i = 0; i < n && !interrupt_requested(); i++)
 *         do_one_job(i);          // a libcurl progress callback also asks
 *     ...print the summary, close the trace...
 *     if (interrupt_requested())
 *         return interrupt_exit_status();      -> 130
 *
 * An event loop watches interrupt_fd() for EPOLLIN instead of polling.
 * The handler is installed without SA_RESTART, so a blocking call in the
 * thread that receives the signal (nanosleep, poll, waitpid, read on a
 * pipe) returns EINTR: treat EINTR as "check interrupt_requested()".
 * A fork()ed child inherits the handler, its own copy of the flag, and the
 * same pipe (so a child's signal may wake the parent's poller too: the flag,
 * not the pipe, is the truth).
 */
#ifndef CONKIT_INTERRUPT_H
#define CONKIT_INTERRUPT_H

#include <stdbool.h>
#include <stddef.h>

/* Catch SIGINT and SIGTERM as described above.  Call it once, early in
 * main(), before any thread or child is started (both inherit it).
 * Exits 1 if the handler or the wake-up pipe cannot be set up. */
void interrupt_install(void);

/* For a fork()ed worker whose parent does the stopping (io_fork,
 * cpu_fork): call it first thing in the child.  The worker then ignores
 * SIGINT and SIGTERM -- Ctrl-C reaches the whole process group, and a
 * worker that died of it would look like a crash to a parent that had
 * not yet seen its own signal -- and takes parent_signal (SIGUSR1), which
 * only the parent sends, as its interrupt: interrupt_requested() turns
 * true, a transfer in flight is abandoned.  The worker gets no
 * interrupt_fd() (the inherited pipe is the parent's).  A parent that
 * blocks parent_signal before fork() is sure no worker dies of it before
 * this handler is in place: this unblocks it. */
void interrupt_install_worker(int parent_signal);

/* True once the first SIGINT or SIGTERM has arrived.  Cheap (one atomic
 * load), async-signal-safe and callable from any thread. */
bool interrupt_requested(void);

/* 130 after SIGINT, 143 after SIGTERM (128 + the signal number); 0 when
 * no signal came. */
int interrupt_exit_status(void);

/* A file descriptor that becomes readable (and stays readable) after the
 * first signal: put it in an epoll set or a poll() list.  Never read it
 * or close it.  -1 before interrupt_install(). */
int interrupt_fd(void);

/* After an interrupt, the one stderr line every program prints:
 *     interrupt_report(30, 100, "downloads")
 *     -> io_sync: interrupted by SIGINT: 30 of 100 downloads finished,
 *        the rest cancelled
 * Does nothing when no signal came. */
void interrupt_report(size_t finished, size_t total, const char *what);

#endif
/* SPDX-License-Identifier: MIT */
