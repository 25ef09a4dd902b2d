/* sitesim.c -- the site simulator: the offline stand-in for the two web
 * sites of the tutorial, so every I/O lab of conkit runs on 127.0.0.1.
 *
 * One thread, one epoll loop, non-blocking sockets, OpenSSL for HTTPS.
 * Each response is held back by a timer (latency +/- jitter, plus a
 * connection delay before the first response of a connection), so the
 * labs see what a real site costs: waiting, not computing.
 *
 * Run it:
 *     make serve                  (or: ./sitesim --pidfile sitesim.pid &)
 *     curl http://127.0.0.1:8480/dice | wc -c               -> 272
 *     curl --cacert .sitesim/ca.pem https://127.0.0.1:8443/jython | wc -c
 *                                                           -> 10966
 *     curl http://127.0.0.1:8480/stats
 *     make stop                   (or: kill "$(cat sitesim.pid)")
 *
 * What to watch for: the loop never sleeps except in epoll_wait(), whose
 * timeout is the nearest timer; thousands of delayed responses are just
 * thousands of entries in a heap. Compare with io_async (lab 4), the
 * same kind of loop on the client side.
 *
 * The files call downward only, never back up (scripts/sitesim/README
 * has the picture):
 *
 *   sitesim.c   main(): startup, the epoll loop, signals, pidfile
 *     |-- config.c      defaults, environment, options, --help
 *     |-- certs.c       the lab CA and the server certificate
 *     +-- listen.c      listening sockets, accepting; a taken port
 *           +-- conn.c  one connection: reading, writing, TLS, delays,
 *                 |     faults; it alone changes a connection's state
 *                 |-- http_server.c  parse a request, decide the
 *                 |                  response; changes nothing
 *                 |-- stats.c    /stats counters and the /stats/log ring
 *                 +-- deadlines.c   the min-heap of delayed connections
 *   log.c   the --log file (any file may write a line)
 *
 * The loop hands listener events to listen.c and the rest to conn.c,
 * and asks both for their next deadline. From the kit's common/ it
 * links timer.c (the clock), options.c and error.c (checked numbers,
 * one-line errors).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>

#include "certs.h"
#include "config.h"
#include "conn.h"
#include "error.h"      /* common/: error_init(), error_report() */
#include "http_server.h"
#include "listen.h"
#include "log.h"
#include "timer.h"      /* common/: monotonic_us() */

/* ====================== Constants ====================== */

#define WANTED_FD_LIMIT 20000   /* 10,000 connections, with room */
#define MAX_EVENTS 256          /* events taken per epoll_wait */

/* ====================== Structures ====================== */

/* The whole simulator: one of these lives in main(). */
struct server {
    struct config config;       /* settings */
    int epfd;                   /* the epoll instance */
    int signal_fd;              /* signalfd for SIGTERM and SIGINT */
    SSL_CTX *tls;               /* certificate and key for HTTPS */
    bool stopping;              /* a signal came: leave the loop */
    struct listeners listeners; /* the two listening sockets */
    struct conns conns;         /* every client connection */
};

/* ====================== Timers ====================== */

/* How long epoll_wait() may sleep: until the nearest deadline of the
 * connections or the listeners, rounded up to whole milliseconds
 * (rounding down would wake us too early and spin), or -1 (forever)
 * when nothing is due. */
static int timers_next_ms(const struct server *s)
{
    int64_t next = conns_next_deadline(&s->conns), wait;

    if (listeners_next_deadline(&s->listeners) < next)
        next = listeners_next_deadline(&s->listeners);
    if (next == INT64_MAX)
        return -1;
    wait = next - monotonic_us();
    if (wait <= 0)
        return 0;
    wait = (wait + 999) / 1000;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* ====================== The loop ====================== */

/* A signal arrived through the signalfd: note it, and stop. */
static void signal_read(struct server *s)
{
    struct signalfd_siginfo info;
    ssize_t n = read(s->signal_fd, &info, sizeof(info));

    if (n != (ssize_t)sizeof(info))
        return;  /* EAGAIN: nothing after all */
    log_line("stopping on %s",
             info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
    s->stopping = true;
}

/* Wait for events and timers, and hand each to its handler, until a
 * signal says stop. Returns 0, or -1 if epoll itself fails. */
static int serve(struct server *s)
{
    struct epoll_event events[MAX_EVENTS];

    while (!s->stopping) {
        int n = epoll_wait(s->epfd, events, MAX_EVENTS, timers_next_ms(s));
        if (n < 0) {
            if (errno == EINTR)
                n = 0;  /* as Redis ae: an interruption is zero events */
            else {
                error_report("epoll_wait: %s", strerror(errno));
                return -1;
            }
        }
        for (int i = 0; i < n; i++) {
            uint64_t key = events[i].data.u64;

            if (key == (uint64_t)s->signal_fd)
                signal_read(s);
            else if (listeners_own(&s->listeners, key))
                listeners_accept(&s->listeners, key, &s->conns);
            else
                conns_event(&s->conns, key, events[i].events);
        }
        int64_t now = monotonic_us();
        conns_expire(&s->conns, now);
        listeners_resume(&s->listeners, now);
    }
    return 0;
}

/* ====================== Startup and shutdown ====================== */

/* Raise the open-file limit to the hard limit: each connection is an
 * fd, and 10,000 of them need more than the usual 1024. */
static size_t fd_limit_raise(void)
{
    struct rlimit lim;

    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        error_report("getrlimit: %s", strerror(errno));
        return 1024;
    }
    if (lim.rlim_max == RLIM_INFINITY || lim.rlim_max > (1u << 20))
        lim.rlim_max = 1u << 20;  /* enough, and a table we can afford */
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
            error_report("setrlimit: %s", strerror(errno));
            if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
                return 1024;
        }
    }
    if (lim.rlim_cur < WANTED_FD_LIMIT)
        error_report("warning: open file limit below %d, "
                     "too low for 10000 connections: '%llu'",
                     WANTED_FD_LIMIT, (unsigned long long)lim.rlim_cur);
    return lim.rlim_cur;
}

/* Write our pid to FILE atomically (a temporary file, then rename),
 * so a reader never sees a half-written pidfile. */
static int pidfile_write(const char *path)
{
    char tmp[PATH_MAX];
    FILE *fp;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path,
                         (int)getpid()) >= sizeof(tmp))
        goto out_error;
    fp = fopen(tmp, "w");
    if (fp == NULL)
        goto out_error;
    if (fprintf(fp, "%d\n", (int)getpid()) < 0) {
        fclose(fp);
        goto out_unlink;
    }
    if (fclose(fp) != 0 || rename(tmp, path) != 0)
        goto out_unlink;
    return 0;

out_unlink:
    unlink(tmp);
out_error:
    error_report("cannot write pidfile '%s': %s", path,
                 strerror(errno));
    return -1;
}

/* Remove the pidfile, but only if it is still ours. */
static void pidfile_remove(const char *path)
{
    FILE *fp = fopen(path, "r");
    int pid = 0;

    if (fp == NULL)
        return;
    if (fscanf(fp, "%d", &pid) != 1)
        pid = 0;
    fclose(fp);
    if (pid == (int)getpid() && unlink(path) != 0)
        error_report("cannot remove '%s': %s", path,
                     strerror(errno));
}

/* Block SIGTERM and SIGINT and receive them through a signalfd, as
 * events of the loop; SIGPIPE is ignored (a client that went away is
 * an error code, not the end of the server). */
static int signals_setup(void)
{
    sigset_t mask;
    int fd;

    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        error_report("signal: %s", strerror(errno));
        return -1;
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) {
        error_report("sigprocmask: %s", strerror(errno));
        return -1;
    }
    fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        error_report("signalfd: %s", strerror(errno));
    return fd;
}

/* Watch the signalfd for input; its epoll key is the bare fd. */
static int signal_watch(int epfd, int fd)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)fd };

    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        error_report("epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct server s = { .epfd = -1,
                        .listeners = { .http_fd = -1, .https_fd = -1 } };
    struct config *cfg = &s.config;
    size_t fd_limit;
    int rc, status = 1;

    /* 1. settings: usage errors exit 2, --help exits 0 */
    error_init("sitesim");  /* how common/ names us in its messages */
    rc = config_load(cfg, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;

    /* 2. signals first, so a SIGTERM during startup is not lost */
    s.signal_fd = signals_setup();
    if (s.signal_fd < 0)
        return 1;
    if (pages_init() != 0) {
        error_report("pages do not fit their sizes: 'http_server.c'");
        goto out_close_signal;
    }
    fd_limit = fd_limit_raise();
    if (cfg->logfile != NULL && log_open(cfg->logfile) != 0) {
        error_report("cannot open '%s': %s", cfg->logfile,
                     strerror(errno));
        goto out_close_signal;
    }

    /* 3. the lab CA and server certificate (made on first start) */
    if (certs_ensure(cfg->dir) != 0)
        goto out_close_log;
    s.tls = certs_server_context(cfg->dir);
    if (s.tls == NULL)
        goto out_close_log;

    /* 4. the loop, the connections' tables, the sockets */
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s.epfd < 0) {
        error_report("epoll_create1: %s", strerror(errno));
        goto out_free_tls;
    }
    if (conns_init(&s.conns, s.epfd, s.tls, cfg, fd_limit) != 0) {
        error_report("out of memory: '%zu fds'", fd_limit);
        goto out_close_epoll;
    }
    if (listeners_open(&s.listeners, s.epfd, cfg) != 0 ||
        signal_watch(s.epfd, s.signal_fd) != 0)
        goto out_close_sockets;

    /* 5. listening now: say so (stdout, log, then the pidfile, so
     * whoever waits for the pidfile finds the line already there) */
    printf("sitesim: serving http://127.0.0.1:%d and https://127.0.0.1:%d"
           " (latency %d\u00b1%d ms, connection delay %d ms)\n", /* ± */
           cfg->http_port, cfg->https_port, cfg->latency_ms,
           cfg->jitter_ms, cfg->conn_delay_ms);
    fflush(stdout);
    log_line("serving http://127.0.0.1:%d and https://127.0.0.1:%d "
             "(latency %d+-%d ms, connection delay %d ms, certificates "
             "in %s)", cfg->http_port, cfg->https_port, cfg->latency_ms,
             cfg->jitter_ms, cfg->conn_delay_ms, cfg->dir);
    if (cfg->pidfile != NULL && pidfile_write(cfg->pidfile) != 0)
        goto out_close_sockets;

    /* 6. serve until SIGTERM or SIGINT */
    if (serve(&s) == 0)
        status = 0;
    log_line("stopped, closing %zu connections", s.conns.count);
    if (cfg->pidfile != NULL)
        pidfile_remove(cfg->pidfile);

    /* 7. always clean up, in the reverse order */
out_close_sockets:
    listeners_close(&s.listeners);
    conns_free(&s.conns);  /* closes every connection */
out_close_epoll:
    close(s.epfd);
out_free_tls:
    SSL_CTX_free(s.tls);
out_close_log:
    log_close();
out_close_signal:
    close(s.signal_fd);
    return status;
}
/* SPDX-License-Identifier: MIT */
