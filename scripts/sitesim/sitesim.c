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
 * The other files, and which calls which: see sitesim.h. This file is
 * the top: it calls the others, and none of them calls it.
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

#include "error.h"      /* common/: error_init() for option_long() */
#include "sitesim.h"

/* ====================== Constants ====================== */

#define WANTED_FD_LIMIT 20000   /* 10,000 connections, with room */

/* ====================== Timers ====================== */

/* Fire the timers that are due, close idle connections, and resume
 * accepting if a pause is over. */
static void timers_run(struct server *s)
{
    int64_t now = monotonic_us();
    struct conn *c;

    while ((c = timer_first(s)) != NULL && c->wake_at_us <= now)
        conn_timer_fired(s, c);  /* conn.c takes it off the heap */
    while (s->idle_head != NULL &&
           s->idle_head->active_at_us + SITESIM_IDLE_US <= now)
        conn_close(s, s->idle_head);
    listeners_resume(s, now);
}

/* How long epoll_wait() may sleep: until the nearest deadline, rounded
 * up to whole milliseconds (rounding down would wake us too early and
 * spin), or -1 (forever) when nothing is due. */
static int timers_next_ms(const struct server *s)
{
    int64_t next = INT64_MAX, wait;
    const struct conn *first = timer_first(s);

    if (first != NULL)
        next = first->wake_at_us;
    if (s->idle_head != NULL &&
        s->idle_head->active_at_us + SITESIM_IDLE_US < next)
        next = s->idle_head->active_at_us + SITESIM_IDLE_US;
    if (s->accept_paused && s->accept_resume_us < next)
        next = s->accept_resume_us;
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
    log_line(s, "stopping on %s",
             info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
    s->stopping = true;
}

/* Wait for events and timers, and hand each to its handler, until a
 * signal says stop. Returns 0, or -1 if epoll itself fails. */
static int loop_run(struct server *s)
{
    struct epoll_event events[SITESIM_MAX_EVENTS];

    while (!s->stopping) {
        int n = epoll_wait(s->epfd, events, SITESIM_MAX_EVENTS,
                           timers_next_ms(s));
        if (n < 0) {
            if (errno == EINTR)
                n = 0;  /* as Redis ae: an interruption is zero events */
            else {
                fprintf(stderr, "sitesim: epoll_wait: %s\n",
                        strerror(errno));
                return -1;
            }
        }
        for (int i = 0; i < n; i++) {
            int fd = (int)(uint32_t)events[i].data.u64;
            uint64_t id = events[i].data.u64 >> 32;
            struct conn *c = s->conn_by_fd[fd];

            if (fd == s->signal_fd)
                signal_read(s);
            else if (fd == s->http_fd)
                listener_accept(s, fd, false);
            else if (fd == s->https_fd)
                listener_accept(s, fd, true);
            else if (c != NULL && (uint32_t)c->id == (uint32_t)id)
                conn_event(s, c, events[i].events);
            /* else: its connection closed earlier in this batch */
        }
        timers_run(s);
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
        fprintf(stderr, "sitesim: getrlimit: %s\n", strerror(errno));
        return 1024;
    }
    if (lim.rlim_max == RLIM_INFINITY || lim.rlim_max > (1u << 20))
        lim.rlim_max = 1u << 20;  /* enough, and a table we can afford */
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
            fprintf(stderr, "sitesim: setrlimit: %s\n", strerror(errno));
            if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
                return 1024;
        }
    }
    if (lim.rlim_cur < WANTED_FD_LIMIT)
        fprintf(stderr, "sitesim: warning: open file limit below %d, "
                "too low for 10000 connections: '%llu'\n",
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
    fprintf(stderr, "sitesim: cannot write pidfile '%s': %s\n", path,
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
        fprintf(stderr, "sitesim: cannot remove '%s': %s\n", path,
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
        fprintf(stderr, "sitesim: signal: %s\n", strerror(errno));
        return -1;
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) {
        fprintf(stderr, "sitesim: sigprocmask: %s\n", strerror(errno));
        return -1;
    }
    fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0)
        fprintf(stderr, "sitesim: signalfd: %s\n", strerror(errno));
    return fd;
}

static int epoll_watch(int epfd, int fd)
{
    struct epoll_event ev = { .events = EPOLLIN,
                              .data.u64 = epoll_key(fd, 0) };

    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        fprintf(stderr, "sitesim: epoll_ctl: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct server s = { .epfd = -1, .http_fd = -1, .https_fd = -1 };
    struct config *cfg = &s.config;
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
        fprintf(stderr, "sitesim: pages do not fit their sizes: 'http.c'\n");
        goto out_close_signal;
    }
    s.fd_limit = fd_limit_raise();
    s.random_state = (uint64_t)monotonic_us() ^ ((uint64_t)getpid() << 32);
    if (s.random_state == 0)
        s.random_state = 1;  /* xorshift must not start at zero */
    s.conn_by_fd = calloc(s.fd_limit, sizeof(*s.conn_by_fd));
    s.timers = calloc(s.fd_limit, sizeof(*s.timers));
    if (s.conn_by_fd == NULL || s.timers == NULL ||
        stats_init(&s.stats, monotonic_us()) != 0) {
        fprintf(stderr, "sitesim: out of memory: '%zu fds'\n", s.fd_limit);
        goto out_free_tables;
    }
    if (cfg->logfile != NULL) {
        s.log = fopen(cfg->logfile, "a");
        if (s.log == NULL) {
            fprintf(stderr, "sitesim: cannot open '%s': %s\n",
                    cfg->logfile, strerror(errno));
            goto out_free_tables;
        }
        setvbuf(s.log, NULL, _IOLBF, 0);
    }

    /* 3. the lab CA and server certificate (made on first start) */
    if (certs_ensure(cfg->dir) != 0)
        goto out_close_log;
    s.tls = certs_server_context(cfg->dir);
    if (s.tls == NULL)
        goto out_close_log;

    /* 4. sockets and the loop */
    s.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s.epfd < 0) {
        fprintf(stderr, "sitesim: epoll_create1: %s\n", strerror(errno));
        goto out_free_tls;
    }
    s.http_fd = listen_on(cfg, cfg->http_port);
    if (s.http_fd < 0)
        goto out_close_sockets;
    s.https_fd = listen_on(cfg, cfg->https_port);
    if (s.https_fd < 0)
        goto out_close_sockets;
    if (epoll_watch(s.epfd, s.signal_fd) != 0 ||
        epoll_watch(s.epfd, s.http_fd) != 0 ||
        epoll_watch(s.epfd, s.https_fd) != 0)
        goto out_close_sockets;

    /* 5. listening now: say so (stdout, log, then the pidfile, so
     * whoever waits for the pidfile finds the line already there) */
    printf("sitesim: serving http://127.0.0.1:%d and https://127.0.0.1:%d"
           " (latency %d\u00b1%d ms, connection delay %d ms)\n", /* ± */
           cfg->http_port, cfg->https_port, cfg->latency_ms,
           cfg->jitter_ms, cfg->conn_delay_ms);
    fflush(stdout);
    log_line(&s, "serving http://127.0.0.1:%d and https://127.0.0.1:%d "
             "(latency %d+-%d ms, connection delay %d ms, certificates "
             "in %s)", cfg->http_port, cfg->https_port, cfg->latency_ms,
             cfg->jitter_ms, cfg->conn_delay_ms, cfg->dir);
    if (cfg->pidfile != NULL && pidfile_write(cfg->pidfile) != 0)
        goto out_close_sockets;

    /* 6. serve until SIGTERM or SIGINT */
    if (loop_run(&s) == 0)
        status = 0;
    log_line(&s, "stopped, closing %zu connections", s.conn_count);

    /* 7. always clean up, in the reverse order */
    while (s.conns != NULL)
        conn_close(&s, s.conns);
    if (cfg->pidfile != NULL)
        pidfile_remove(cfg->pidfile);
out_close_sockets:
    if (s.https_fd >= 0)
        close(s.https_fd);
    if (s.http_fd >= 0)
        close(s.http_fd);
    close(s.epfd);
out_free_tls:
    SSL_CTX_free(s.tls);
out_close_log:
    if (s.log != NULL)
        fclose(s.log);
out_free_tables:
    stats_free(&s.stats);
    free(s.timers);
    free(s.conn_by_fd);
out_close_signal:
    close(s.signal_fd);
    return status;
}
