/* interrupt.c -- the SIGINT/SIGTERM handler every program installs; see
 * interrupt.h. */
#include "interrupt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

/* The number of the first signal, 0 before it.  A lock-free atomic is
 * async-signal-safe, and other threads see the store without a lock. */
static atomic_int first_signal;

/* The self-pipe: the handler writes one byte to wake_write, wake_read then
 * stays readable (nobody reads it) for every poller. */
static int wake_read = -1;
static int wake_write = -1;

/* Runs inside whichever thread the kernel picked: only async-signal-safe
 * calls here (atomics, write, _exit). */
static void on_signal(int signo)
{
    int expected = 0;
    int saved_errno = errno;    /* write() must not disturb the code we
                                   interrupted */

    if (!atomic_compare_exchange_strong(&first_signal, &expected, signo))
        _exit(128 + signo);     /* the second signal: stop right now */
    if (wake_write >= 0) {
        char byte = 1;
        ssize_t ignored = write(wake_write, &byte, 1);
        (void)ignored;          /* full or closed: already readable */
    }
    errno = saved_errno;
}

/* Make both ends close-on-exec and non-blocking: the handler must never
 * block on a full pipe. */
static int pipe_setup(int fds[2])
{
    if (pipe(fds) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        int flags = fcntl(fds[i], F_GETFL);
        if (flags < 0 || fcntl(fds[i], F_SETFL, flags | O_NONBLOCK) < 0
            || fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0)
            return -1;
    }
    return 0;
}

void interrupt_install(void)
{
    int fds[2];
    struct sigaction action;

    if (wake_read >= 0)
        return;                 /* already installed */
    if (pipe_setup(fds) != 0)
        error_fatal("cannot make the interrupt pipe: %s", strerror(errno));
    wake_read = fds[0];
    wake_write = fds[1];

    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    /* both signals blocked while the handler runs: one at a time */
    sigaddset(&action.sa_mask, SIGINT);
    sigaddset(&action.sa_mask, SIGTERM);
    action.sa_flags = 0;        /* no SA_RESTART: blocking calls wake up */
    if (sigaction(SIGINT, &action, NULL) != 0
        || sigaction(SIGTERM, &action, NULL) != 0)
        error_fatal("sigaction: %s", strerror(errno));
}

void interrupt_install_worker(int parent_signal)
{
    struct sigaction action;

    /* this process's copies of the parent's state: start afresh */
    if (wake_read >= 0) {
        close(wake_read);
        close(wake_write);
    }
    wake_read = wake_write = -1;
    atomic_store(&first_signal, 0);

    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;        /* no SA_RESTART: blocking calls wake up */
    if (sigaction(parent_signal, &action, NULL) != 0)
        error_fatal("sigaction: %s", strerror(errno));

    /* the parent may have kept it blocked across fork(), so that it could
     * not end us before this handler was in place */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, parent_signal);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

bool interrupt_requested(void)
{
    return atomic_load(&first_signal) != 0;
}

int interrupt_exit_status(void)
{
    int signo = atomic_load(&first_signal);

    return signo == 0 ? 0 : 128 + signo;
}

int interrupt_fd(void)
{
    return wake_read;
}

void interrupt_report(size_t finished, size_t total, const char *what)
{
    int signo = atomic_load(&first_signal);

    if (signo == 0)
        return;
    error_report("interrupted by %s: %zu of %zu %s finished, the rest "
                 "cancelled", signo == SIGINT ? "SIGINT" : "SIGTERM",
                 finished, total, what);
}
/* SPDX-License-Identifier: MIT */
