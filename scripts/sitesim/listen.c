/* listen.c -- sitesim's listening sockets: accepting connections (each
 * handed to conn.c), and when a port is taken, who holds it and the two
 * ways out.
 *
 *   $ ./sitesim
 *   sitesim: cannot listen on 127.0.0.1:8480: Address already in use
 *   sitesim: port 8480 is held by another sitesim: pid 4242, kit
 *     '/home/ana/conkit' (certificates in '/home/ana/conkit/.sitesim')
 *   sitesim: stop that one:    make -C '/home/ana/conkit' stop
 *   sitesim: or move this one: CONKIT_HTTP_PORT=8481
 *     CONKIT_HTTPS_PORT=8444 make serve
 *   sitesim:   (every program and make target of the kit reads ...)
 *
 * (the long lines are one line each); exit 1.
 * To learn who holds a port we first ask it for /stats over plain HTTP
 * (a sitesim answers with its pid= and kit=, whoever owns it), then look
 * the socket up in /proc/net/tcp and the fds in /proc (which works for
 * the HTTPS port too, but only for our own user's processes).
 * Accepting hands each socket down to conn.c (conn_accepted) and may
 * write to log.c; nothing here calls back up.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>

#include "error.h"      /* common/: error_report() */
#include "listen.h"
#include "log.h"
#include "timer.h"      /* common/: monotonic_us() */

#define ACCEPT_PAUSE_US 100000  /* out of fds: stop accepting this long */

/* ====================== A taken port ====================== */

/* What we found out about the holder of a port. */
struct holder {
    int pid;                    /* 0 if unknown */
    char name[64];              /* its command name, "" if unknown */
    char kit[PATH_MAX];         /* a sitesim's kit folder, or "" */
    char dir[PATH_MAX];         /* a sitesim's certificate folder, or "" */
};

/* A socket on 127.0.0.1:port: bound and listening (listen = true), or
 * only bound, to see whether the port is free. -1 with errno if not. */
static int socket_on(int port, bool listening)
{
    struct sockaddr_in addr = {
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t)port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),  /* never 0.0.0.0 */
    };
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    /* SO_REUSEADDR lets a restart reuse the port at once, while a port
     * that another server holds still fails */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        (listening && listen(fd, SOMAXCONN) != 0)) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static bool port_free(int port)
{
    int fd = socket_on(port, false);

    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* The value of "key=" in a /stats body, copied into out. */
static bool stats_value(const char *text, const char *key, char *out,
                        size_t cap)
{
    size_t key_len = strlen(key);

    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        if (len > key_len && strncmp(line, key, key_len) == 0 &&
            line[key_len] == '=') {
            len -= key_len + 1;
            if (len >= cap)
                return false;
            memcpy(out, line + key_len + 1, len);
            out[len] = '\0';
            return true;
        }
        line = end != NULL ? end + 1 : NULL;
    }
    return false;
}

/* Ask the holder of port for /stats over plain HTTP, waiting at most a
 * second. Fills in h if it answers like a sitesim. */
static bool holder_ask(int port, struct holder *h)
{
    struct sockaddr_in addr = {
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t)port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    struct timeval second = { .tv_sec = 1 };
    static const char request[] =
        "GET /stats HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    char reply[4 * PATH_MAX], pid[32];
    size_t used = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return false;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &second,
                   sizeof(second)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &second,
                   sizeof(second)) != 0 ||
        connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL) < 0) {
        close(fd);
        return false;
    }
    while (used < sizeof(reply) - 1) {
        ssize_t n = recv(fd, reply + used, sizeof(reply) - 1 - used, 0);
        if (n <= 0)
            break;  /* the end, an error, or a second without a byte */
        used += (size_t)n;
    }
    close(fd);
    reply[used] = '\0';
    if (strncmp(reply, "HTTP/1.1 200", 12) != 0 ||
        strstr(reply, "\r\nServer: sitesim\r\n") == NULL ||
        !stats_value(reply, "pid", pid, sizeof(pid)))
        return false;
    h->pid = atoi(pid);
    snprintf(h->name, sizeof(h->name), "sitesim");
    if (!stats_value(reply, "kit", h->kit, sizeof(h->kit)))
        h->kit[0] = '\0';
    if (!stats_value(reply, "dir", h->dir, sizeof(h->dir)))
        h->dir[0] = '\0';
    return true;
}

/* The inode of the socket listening on port, from one /proc/net file
 * (tcp or tcp6), or 0. Lines look like:
 *   0: 0100007F:2120 00000000:0000 0A ... 0 0 123456 ...
 * (local address:port in hex, state 0A = LISTEN, then the inode). */
static unsigned long listener_inode(const char *table, int port)
{
    FILE *fp = fopen(table, "r");
    char line[512];
    unsigned long inode = 0;

    if (fp == NULL)
        return 0;
    if (fgets(line, sizeof(line), fp) == NULL)  /* the header */
        goto out_close;
    while (inode == 0 && fgets(line, sizeof(line), fp) != NULL) {
        char local[64], state[8];
        unsigned long found;
        unsigned int local_port;
        if (sscanf(line, "%*s %63s %*s %7s %*s %*s %*s %*s %*s %lu",
                   local, state, &found) != 3)
            continue;
        char *colon = strrchr(local, ':');
        if (colon == NULL || sscanf(colon + 1, "%x", &local_port) != 1)
            continue;
        if ((int)local_port == port && strcmp(state, "0A") == 0)
            inode = found;
    }
out_close:
    fclose(fp);
    return inode;
}

/* Which process has socket `inode` open: look through /proc/PID/fd of
 * every process we may read. Fills in h; false if none. */
static bool holder_find(unsigned long inode, struct holder *h)
{
    char wanted[64];
    DIR *procs = opendir("/proc");
    struct dirent *p;
    bool found = false;

    if (procs == NULL)
        return false;
    snprintf(wanted, sizeof(wanted), "socket:[%lu]", inode);
    while (!found && (p = readdir(procs)) != NULL) {
        char path[PATH_MAX], link[64];
        int pid = atoi(p->d_name);
        if (pid <= 0 || pid == (int)getpid())
            continue;
        snprintf(path, sizeof(path), "/proc/%d/fd", pid);
        DIR *fds = opendir(path);
        if (fds == NULL)
            continue;  /* another user's process */
        struct dirent *f;
        while (!found && (f = readdir(fds)) != NULL) {
            ssize_t n;
            if (f->d_name[0] == '.' ||
                (size_t)snprintf(path, sizeof(path), "/proc/%d/fd/%s",
                                 pid, f->d_name) >= sizeof(path))
                continue;
            n = readlink(path, link, sizeof(link) - 1);
            if (n < 0)
                continue;
            link[n] = '\0';
            found = strcmp(link, wanted) == 0;
        }
        closedir(fds);
        if (found)
            h->pid = pid;
    }
    closedir(procs);
    if (!found)
        return false;

    /* its name, and for a sitesim its folder (where its Makefile is) */
    char path[PATH_MAX], exe[PATH_MAX];
    snprintf(path, sizeof(path), "/proc/%d/comm", h->pid);
    FILE *fp = fopen(path, "r");
    if (fp != NULL) {
        if (fgets(h->name, sizeof(h->name), fp) != NULL)
            h->name[strcspn(h->name, "\n")] = '\0';
        fclose(fp);
    }
    snprintf(path, sizeof(path), "/proc/%d/exe", h->pid);
    ssize_t n = readlink(path, exe, sizeof(exe) - 1);
    if (strcmp(h->name, "sitesim") == 0 && n > 0) {
        exe[n] = '\0';
        snprintf(h->kit, sizeof(h->kit), "%s", dirname(exe));
    }
    return true;
}

/* Two ports near the ones asked for that are free now, for the message. */
static void free_ports(const struct config *cfg, int *http, int *https)
{
    *http = cfg->http_port;
    *https = cfg->https_port;
    for (int step = 1; step < 1000; step++) {
        int a = cfg->http_port + step, b = cfg->https_port + step;
        if (a > 65535 || b > 65535)
            break;
        if (a != cfg->https_port && b != cfg->http_port && port_free(a) &&
            port_free(b)) {
            *http = a;
            *https = b;
            return;
        }
    }
}

/* Print who holds port (taken) and the two ways out. */
static void port_taken(const struct config *cfg, int port)
{
    struct holder h = { 0 };
    int http, https;
    unsigned long inode;

    if (!holder_ask(port, &h)) {
        inode = listener_inode("/proc/net/tcp", port);
        if (inode == 0)
            inode = listener_inode("/proc/net/tcp6", port);
        if (inode != 0)
            holder_find(inode, &h);
    }

    if (h.pid > 0 && strcmp(h.name, "sitesim") == 0 && h.kit[0] != '\0') {
        char certs[PATH_MAX + 32] = "";
        if (h.dir[0] != '\0')
            snprintf(certs, sizeof(certs), " (certificates in '%s')",
                     h.dir);
        error_report("port %d is held by another sitesim: pid %d, "
                     "kit '%s'%s", port, h.pid, h.kit, certs);
        error_report("stop that one:    make -C '%s' stop", h.kit);
    } else if (h.pid > 0) {
        error_report("port %d is held by pid %d (%s)", port, h.pid,
                     h.name[0] != '\0' ? h.name : "unknown");
        error_report("stop that one:    kill %d", h.pid);
    } else {
        error_report("port %d is held by a process this user cannot see",
                     port);
        error_report("stop that one, or");
    }
    free_ports(cfg, &http, &https);
    error_report("or move this one: CONKIT_HTTP_PORT=%d "
                 "CONKIT_HTTPS_PORT=%d make serve", http, https);
    error_report("  (every program and make target of the kit reads "
                 "CONKIT_HTTP_PORT and CONKIT_HTTPS_PORT)");
}

/* A non-blocking socket listening on 127.0.0.1:port, or -1 after
 * printing why, and if the port is taken, who holds it. */
static int listen_on(const struct config *cfg, int port)
{
    int fd = socket_on(port, true);
    int saved = errno;

    if (fd >= 0)
        return fd;
    error_report("cannot listen on 127.0.0.1:%d: %s", port,
                 strerror(saved));
    if (saved == EADDRINUSE)
        port_taken(cfg, port);
    return -1;
}

/* Watch fd for EPOLLIN, or nothing (on = false); its key is the fd. */
static int listener_watch(int epfd, int fd, int op, bool on)
{
    struct epoll_event ev = { .events = on ? EPOLLIN : 0,
                              .data.u64 = (uint64_t)fd };

    return epoll_ctl(epfd, op, fd, &ev);
}

int listeners_open(struct listeners *ls, int epfd,
                   const struct config *cfg)
{
    ls->epfd = epfd;
    ls->paused = false;
    ls->https_fd = -1;
    ls->http_fd = listen_on(cfg, cfg->http_port);
    if (ls->http_fd < 0)
        return -1;
    ls->https_fd = listen_on(cfg, cfg->https_port);
    if (ls->https_fd < 0)
        return -1;
    if (listener_watch(epfd, ls->http_fd, EPOLL_CTL_ADD, true) != 0 ||
        listener_watch(epfd, ls->https_fd, EPOLL_CTL_ADD, true) != 0) {
        error_report("epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void listeners_close(struct listeners *ls)
{
    if (ls->https_fd >= 0)
        close(ls->https_fd);
    if (ls->http_fd >= 0)
        close(ls->http_fd);
    ls->http_fd = ls->https_fd = -1;
}

bool listeners_own(const struct listeners *ls, uint64_t key)
{
    return (ls->http_fd >= 0 && key == (uint64_t)ls->http_fd) ||
           (ls->https_fd >= 0 && key == (uint64_t)ls->https_fd);
}

/* ====================== Accepting ====================== */

/* Switch both listening sockets on or off in epoll. */
static int listeners_watch(struct listeners *ls, bool on)
{
    if (listener_watch(ls->epfd, ls->http_fd, EPOLL_CTL_MOD, on) != 0 ||
        listener_watch(ls->epfd, ls->https_fd, EPOLL_CTL_MOD, on) != 0)
        return -1;
    ls->paused = !on;
    return 0;
}

/* Accept the connections waiting on a listening socket (a bounded
 * number per call, so one busy port cannot starve the rest). */
void listeners_accept(struct listeners *ls, uint64_t key,
                      struct conns *cs)
{
    int listen_fd = (int)key;
    bool tls = listen_fd == ls->https_fd;

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
                log_line("accept: %s (%zu connections): pausing",
                         strerror(errno), cs->count);
                if (listeners_watch(ls, false) == 0)
                    ls->resume_us = monotonic_us() + ACCEPT_PAUSE_US;
                return;
            }
            log_line("accept: %s", strerror(errno));
            return;
        }
        /* TCP_NODELAY: send small responses now, not after 40 ms */
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
                       sizeof(one)) != 0 ||
            conn_accepted(cs, fd, tls) != 0) {
            log_line("cannot take connection on fd %d", fd);
            close(fd);
        }
    }
}

void listeners_resume(struct listeners *ls, int64_t now)
{
    if (ls->paused && ls->resume_us <= now && listeners_watch(ls, true) != 0)
        log_line("cannot resume accepting: %s", strerror(errno));
}

int64_t listeners_next_deadline(const struct listeners *ls)
{
    return ls->paused ? ls->resume_us : INT64_MAX;
}
/* SPDX-License-Identifier: MIT */
