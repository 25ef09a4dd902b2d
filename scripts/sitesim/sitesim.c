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
 * The other files: conn.c (a connection), http.c (requests, paths,
 * pages, /stats), certs.c (the lab CA). Shared structs: sitesim.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <openssl/err.h>

#include "sitesim.h"

/* ====================== Constants ====================== */

#define DEFAULT_HTTP_PORT 8480
#define DEFAULT_HTTPS_PORT 8443
#define DEFAULT_LATENCY_MS 50
#define DEFAULT_JITTER_MS 10
#define DEFAULT_CONN_DELAY_MS 100
#define WANTED_FD_LIMIT 20000   /* 10,000 connections, with room */
#define ACCEPT_PAUSE_US 100000  /* out of fds: stop accepting this long */

/* ====================== Small helpers ====================== */

/* Microseconds on the monotonic clock (never jumps with the date). */
int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);  /* cannot fail for MONOTONIC */
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One line in the --log file, if there is one:
 *   2024-05-01T10:00:00 sitesim[1234]: started ... */
void log_line(struct server *s, const char *fmt, ...)
{
    char stamp[32];
    struct tm tm;
    time_t now = time(NULL);
    va_list ap;

    if (s->log == NULL)
        return;
    if (localtime_r(&now, &tm) == NULL ||
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
    fprintf(s->log, "%s sitesim[%d]: ", stamp, (int)getpid());
    va_start(ap, fmt);
    vfprintf(s->log, fmt, ap);
    va_end(ap);
    fputc('\n', s->log);  /* the file is line-buffered: this flushes */
}

/* ====================== Options ====================== */

static void usage(FILE *out)
{
    fprintf(out,
"usage: sitesim [options]\n"
"Serve the kit's two sites on 127.0.0.1, over HTTP and HTTPS.\n"
"\n"
"options                                        (default, environment)\n"
"  --http-port N     HTTP port, 1..65535        (%d, CONKIT_HTTP_PORT)\n"
"  --https-port N    HTTPS port, 1..65535       (%d, CONKIT_HTTPS_PORT)\n"
"  --latency MS      mean delay per response    (%d, CONKIT_LATENCY)\n"
"  --jitter MS       +/- spread around it       (%d, CONKIT_JITTER)\n"
"  --conn-delay MS   extra delay before the     (%d, CONKIT_CONN_DELAY)\n"
"                    first response of a connection\n"
"  --dir DIR         certificate folder         (.sitesim next to the\n"
"                                               executable, CONKIT_SIMDIR)\n"
"  --pidfile FILE    write the pid once listening; removed on exit\n"
"  --log FILE        append one line per event (start, stop, problems)\n"
"  -h, --help        show this help\n"
"\n"
"Delays are 0..600000 ms. Options win over the environment.\n"
"\n"
"Paths (the same on both ports):\n"
"  /jython             a 10966-byte HTML page\n"
"  /dice               a 272-byte HTML page\n"
"  /bytes/N            N bytes (0..104857600), the same every time\n"
"  /status/CODE        answers CODE (200..599)\n"
"  /delay/MS           answers 200 after MS more milliseconds\n"
"  /page/N             HTML page for element N (1..118), e.g. /page/1:\n"
"                      <title> and <h1> Hydrogen; other N: 404\n"
"  /page/N?fail=CODE   answers CODE (200..599) instead\n"
"  /redirect[/N?to=PATH]  302 to /dice (or N hops to PATH)\n"
"  /redirect/offhost   302 to http://127.0.0.2:PORT/dice (off this host;\n"
"                      a --sites local client must refuse it)\n"
"  /redirect/file      302 to file:///etc/hostname (never to follow)\n"
"\n"
"Broken responses, after the usual latency (each closes its connection;\n"
"none slows the others down):\n"
"  /fault/reset        a reset (RST) after 4096 of 10966 body bytes\n"
"  /fault/close        the connection closes before any header\n"
"  /fault/short        Content-Length 10966, then 1000 bytes and a close\n"
"  /fault/stall        the headers, then nothing until the client goes\n"
"  /fault/drip         a 61-byte body, one byte a second\n"
"  /fault/bigheader    a 1 MB response header\n"
"  /fault/badchunk     chunked encoding with a size that is not hex\n"
"\n"
"  /stats              counters, key=value lines (never delayed), with\n"
"                      requests_inflight_peak, pid and dir\n"
"  /stats/reset        zero the counters and the log, answer as /stats\n"
"  /stats/log          each request since the reset, one line each:\n"
"                      ARRIVAL_US DONE_US STATUS CONN PATH (us since the\n"
"                      reset, DONE_US -1 in flight; the last 100000)\n"
"\n"
"Stop it with SIGTERM or SIGINT.\n",
            DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT, DEFAULT_LATENCY_MS,
            DEFAULT_JITTER_MS, DEFAULT_CONN_DELAY_MS);
}

/* Parse a whole decimal number in min..max; print the problem, if any,
 * naming what (an option or variable). Returns 0 or -1.
 *   int_parse("--http-port", "80x", 1, 65535, "", &n)
 *   -> sitesim: --http-port must be a number 1..65535: '80x' */
static int int_parse(const char *what, const char *text, long min,
                     long max, const char *unit, int *out)
{
    char *end;
    long value;

    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min ||
        value > max || text[0] == ' ' || text[0] == '+') {
        fprintf(stderr, "sitesim: %s must be a number %ld..%ld%s: '%s'\n",
                what, min, max, unit, text);
        return -1;
    }
    *out = (int)value;
    return 0;
}

/* An environment variable as a number, if it is set and not empty. */
static int env_parse(const char *name, long min, long max,
                     const char *unit, int *out)
{
    const char *text = getenv(name);

    if (text == NULL || text[0] == '\0')
        return 0;
    return int_parse(name, text, min, max, unit, out);
}

/* The folder of the executable (the kit's top, for a built kit). */
static int kit_dir(char *dir, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n < 0) {
        fprintf(stderr, "sitesim: cannot read '/proc/self/exe': %s\n",
                strerror(errno));
        return -1;
    }
    exe[n] = '\0';
    if ((size_t)snprintf(dir, cap, "%s", dirname(exe)) >= cap) {
        fprintf(stderr, "sitesim: path too long: '%s'\n", exe);
        return -1;
    }
    return 0;
}

/* Defaults, then environment, then options. Returns 0, or -1 after
 * printing one line (usage error), or 1 for --help (printed). */
static int config_load(struct config *cfg, int argc, char **argv)
{
    enum { OPT_HTTP = 1000, OPT_HTTPS, OPT_LATENCY, OPT_JITTER,
           OPT_CONN_DELAY, OPT_DIR, OPT_PIDFILE, OPT_LOG };
    static const struct option options[] = {
        { "http-port", required_argument, NULL, OPT_HTTP },
        { "https-port", required_argument, NULL, OPT_HTTPS },
        { "latency", required_argument, NULL, OPT_LATENCY },
        { "jitter", required_argument, NULL, OPT_JITTER },
        { "conn-delay", required_argument, NULL, OPT_CONN_DELAY },
        { "dir", required_argument, NULL, OPT_DIR },
        { "pidfile", required_argument, NULL, OPT_PIDFILE },
        { "log", required_argument, NULL, OPT_LOG },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = getenv("CONKIT_SIMDIR");
    const char *ms = " (ms)";
    int opt, rc = 0;

    cfg->http_port = DEFAULT_HTTP_PORT;
    cfg->https_port = DEFAULT_HTTPS_PORT;
    cfg->latency_ms = DEFAULT_LATENCY_MS;
    cfg->jitter_ms = DEFAULT_JITTER_MS;
    cfg->conn_delay_ms = DEFAULT_CONN_DELAY_MS;
    if (env_parse("CONKIT_HTTP_PORT", 1, 65535, "", &cfg->http_port) ||
        env_parse("CONKIT_HTTPS_PORT", 1, 65535, "", &cfg->https_port) ||
        env_parse("CONKIT_LATENCY", 0, SITESIM_DELAY_MAX, ms,
                  &cfg->latency_ms) ||
        env_parse("CONKIT_JITTER", 0, SITESIM_DELAY_MAX, ms,
                  &cfg->jitter_ms) ||
        env_parse("CONKIT_CONN_DELAY", 0, SITESIM_DELAY_MAX, ms,
                  &cfg->conn_delay_ms))
        return -1;
    if (dir != NULL && dir[0] == '\0')
        dir = NULL;

    opterr = 0;  /* we print our own one-line messages */
    while (rc == 0 &&
           (opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_HTTP:
            rc = int_parse("--http-port", optarg, 1, 65535, "",
                           &cfg->http_port);
            break;
        case OPT_HTTPS:
            rc = int_parse("--https-port", optarg, 1, 65535, "",
                           &cfg->https_port);
            break;
        case OPT_LATENCY:
            rc = int_parse("--latency", optarg, 0, SITESIM_DELAY_MAX, ms,
                           &cfg->latency_ms);
            break;
        case OPT_JITTER:
            rc = int_parse("--jitter", optarg, 0, SITESIM_DELAY_MAX, ms,
                           &cfg->jitter_ms);
            break;
        case OPT_CONN_DELAY:
            rc = int_parse("--conn-delay", optarg, 0, SITESIM_DELAY_MAX,
                           ms, &cfg->conn_delay_ms);
            break;
        case OPT_DIR:
            dir = optarg;
            break;
        case OPT_PIDFILE:
            cfg->pidfile = optarg;
            break;
        case OPT_LOG:
            cfg->logfile = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case ':':
            fprintf(stderr, "sitesim: option needs a value: '%s'\n",
                    argv[optind - 1]);
            return -1;
        default:
            fprintf(stderr, "sitesim: unknown option: '%s'\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (rc != 0)
        return -1;
    if (optind < argc) {
        fprintf(stderr, "sitesim: unexpected argument: '%s'\n",
                argv[optind]);
        return -1;
    }
    if (cfg->http_port == cfg->https_port) {
        fprintf(stderr, "sitesim: the HTTP and HTTPS ports must differ: "
                "'%d'\n", cfg->http_port);
        return -1;
    }
    if ((cfg->pidfile != NULL && cfg->pidfile[0] == '\0') ||
        (cfg->logfile != NULL && cfg->logfile[0] == '\0') ||
        (dir != NULL && dir[0] == '\0')) {
        fprintf(stderr, "sitesim: a file or folder name is empty: ''\n");
        return -1;
    }

    if (kit_dir(cfg->kit, sizeof(cfg->kit)) != 0)
        return -1;
    if (dir == NULL) {
        /* the default: .sitesim next to the executable */
        if ((size_t)snprintf(cfg->dir, sizeof(cfg->dir), "%s/.sitesim",
                             cfg->kit) >= sizeof(cfg->dir)) {
            fprintf(stderr, "sitesim: path too long: '%s'\n", cfg->kit);
            return -1;
        }
        return 0;
    }
    if ((size_t)snprintf(cfg->dir, sizeof(cfg->dir), "%s", dir) >=
        sizeof(cfg->dir)) {
        fprintf(stderr, "sitesim: folder name too long: '%s'\n", dir);
        return -1;
    }
    return 0;
}

/* ====================== Listening ====================== */

/* Switch both listening sockets on or off in epoll. */
static int listeners_watch(struct server *s, bool on)
{
    struct epoll_event ev = { .events = on ? EPOLLIN : 0 };

    ev.data.fd = s->http_fd;
    if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->http_fd, &ev) != 0)
        return -1;
    ev.data.fd = s->https_fd;
    if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->https_fd, &ev) != 0)
        return -1;
    s->accept_paused = !on;
    return 0;
}

/* Accept the connections waiting on a listening socket (a bounded
 * number per call, so one busy port cannot starve the rest). */
static void listener_accept(struct server *s, int listen_fd, bool tls)
{
    for (int i = 0; i < 256; i++) {
        int one = 1;
        int fd = accept4(listen_fd, NULL, NULL,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;  /* no more waiting */
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                /* out of fds: the listener stays readable, so epoll
                 * would wake us in a busy loop; look away a while */
                log_line(s, "accept: %s (%zu connections): pausing",
                         strerror(errno), s->conn_count);
                if (listeners_watch(s, false) == 0)
                    s->accept_resume_us = now_us() + ACCEPT_PAUSE_US;
                return;
            }
            log_line(s, "accept: %s", strerror(errno));
            return;
        }
        struct conn *c = NULL;
        /* TCP_NODELAY: send small responses now, not after 40 ms */
        if ((size_t)fd < s->fd_limit &&
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
                       sizeof(one)) == 0)
            c = conn_new(s, fd, tls);
        if (c == NULL) {
            log_line(s, "cannot take connection on fd %d", fd);
            close(fd);
            continue;
        }
        conn_event(s, c, EPOLLIN);  /* the request may be there already */
    }
}

/* ====================== Timers ====================== */

/* The waiting connections form a binary min-heap on wake_at_us: the
 * next one due is always timers[0]; adding and removing cost
 * O(log n), so thousands of pending delays are cheap. The array has
 * room for one entry per possible fd, so adding never fails. */

static void timer_swap(struct server *s, size_t a, size_t b)
{
    struct conn *t = s->timers[a];

    s->timers[a] = s->timers[b];
    s->timers[b] = t;
    s->timers[a]->heap_index = a;
    s->timers[b]->heap_index = b;
}

static void timer_sift_up(struct server *s, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (s->timers[parent]->wake_at_us <= s->timers[i]->wake_at_us)
            break;
        timer_swap(s, parent, i);
        i = parent;
    }
}

static void timer_sift_down(struct server *s, size_t i)
{
    for (;;) {
        size_t left = 2 * i + 1, right = left + 1, least = i;
        if (left < s->timer_count &&
            s->timers[left]->wake_at_us < s->timers[least]->wake_at_us)
            least = left;
        if (right < s->timer_count &&
            s->timers[right]->wake_at_us < s->timers[least]->wake_at_us)
            least = right;
        if (least == i)
            return;
        timer_swap(s, i, least);
        i = least;
    }
}

void timer_add(struct server *s, struct conn *c)
{
    c->timer_armed = true;
    c->heap_index = s->timer_count++;
    s->timers[c->heap_index] = c;
    timer_sift_up(s, c->heap_index);
}

void timer_remove(struct server *s, struct conn *c)
{
    size_t i = c->heap_index;

    c->timer_armed = false;
    s->timer_count--;
    if (i == s->timer_count)
        return;  /* it was the last entry */
    timer_swap(s, i, s->timer_count);
    timer_sift_down(s, i);
    timer_sift_up(s, i);
}

/* Fire the timers that are due, close idle connections, and resume
 * accepting if a pause is over. */
static void timers_run(struct server *s)
{
    int64_t now = now_us();

    while (s->timer_count > 0 && s->timers[0]->wake_at_us <= now) {
        struct conn *c = s->timers[0];
        timer_remove(s, c);
        conn_timer_fired(s, c);
    }
    while (s->idle_head != NULL &&
           s->idle_head->active_at_us + SITESIM_IDLE_US <= now)
        conn_close(s, s->idle_head);
    if (s->accept_paused && s->accept_resume_us <= now &&
        listeners_watch(s, true) != 0)
        log_line(s, "cannot resume accepting: %s", strerror(errno));
}

/* How long epoll_wait() may sleep: until the nearest deadline, rounded
 * up to whole milliseconds (rounding down would wake us too early and
 * spin), or -1 (forever) when nothing is due. */
static int timers_next_ms(const struct server *s)
{
    int64_t next = INT64_MAX, wait;

    if (s->timer_count > 0)
        next = s->timers[0]->wake_at_us;
    if (s->idle_head != NULL &&
        s->idle_head->active_at_us + SITESIM_IDLE_US < next)
        next = s->idle_head->active_at_us + SITESIM_IDLE_US;
    if (s->accept_paused && s->accept_resume_us < next)
        next = s->accept_resume_us;
    if (next == INT64_MAX)
        return -1;
    wait = next - now_us();
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

    s->events = events;
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
        s->event_count = n;
        for (s->event_index = 0; s->event_index < n; s->event_index++) {
            struct epoll_event *ev = &events[s->event_index];
            int fd = ev->data.fd;

            if (fd < 0)
                continue;  /* its connection closed in this batch */
            if (fd == s->signal_fd)
                signal_read(s);
            else if (fd == s->http_fd)
                listener_accept(s, fd, false);
            else if (fd == s->https_fd)
                listener_accept(s, fd, true);
            else if (s->conn_by_fd[fd] != NULL)
                conn_event(s, s->conn_by_fd[fd], ev->events);
        }
        s->event_count = 0;
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
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

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
    s.random_state = (uint64_t)now_us() ^ ((uint64_t)getpid() << 32);
    if (s.random_state == 0)
        s.random_state = 1;  /* xorshift must not start at zero */
    s.conn_by_fd = calloc(s.fd_limit, sizeof(*s.conn_by_fd));
    s.timers = calloc(s.fd_limit, sizeof(*s.timers));
    if (s.conn_by_fd == NULL || s.timers == NULL ||
        stats_init(&s.stats, now_us()) != 0) {
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
