/* listen.h -- sitesim's listening sockets (listen.c): accepting, each
 * socket handed down to conn.c; and when a port is taken, who holds it
 * and the two ways out. The top layer under main(): accept ->
 * connection -> HTTP.
 */
#ifndef SITESIM_LISTEN_H
#define SITESIM_LISTEN_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "conn.h"

/* The two listening sockets; listen.c alone changes them. */
struct listeners {
    int epfd;                   /* the loop's epoll instance */
    int http_fd;                /* listening socket, HTTP, or -1 */
    int https_fd;               /* listening socket, HTTPS, or -1 */
    bool paused;                /* out of fds: listeners switched off */
    int64_t resume_us;          /* when to switch them on again */
};

/* Listen on both ports of cfg and watch them in epfd (their epoll key
 * is the bare fd). 0, or -1 after printing why, and for a taken port
 * who holds it. */
int listeners_open(struct listeners *ls, int epfd,
                   const struct config *cfg);
void listeners_close(struct listeners *ls);

/* Is this epoll key one of the listeners? */
bool listeners_own(const struct listeners *ls, uint64_t key);

/* The listener with this key is readable: accept what waits, a bounded
 * number, and hand each to conn.c. */
void listeners_accept(struct listeners *ls, uint64_t key,
                      struct conns *cs);

/* A pause for want of fds is over by now: switch the listeners on. */
void listeners_resume(struct listeners *ls, int64_t now);

/* When a pause ends, or INT64_MAX when not paused. */
int64_t listeners_next_deadline(const struct listeners *ls);

#endif
/* SPDX-License-Identifier: MIT */
