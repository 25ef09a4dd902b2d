/* conn.h -- sitesim's client connections (conn.c): reading, writing,
 * TLS, delays, faults, /stats. The middle layer: listen.c hands it
 * accepted sockets and the loop in sitesim.c its events and the time;
 * it calls down into http_server.c, stats.c, deadlines.c and log.c, never
 * back up.
 */
#ifndef SITESIM_CONN_H
#define SITESIM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "config.h"
#include "stats.h"
#include "deadlines.h"

struct conn;  /* one client connection: conn.c alone knows its fields */

/* All the connections and what they share. main() owns one; conn.c
 * alone changes it (others may read count). */
struct conns {
    int epfd;                   /* the loop's epoll instance */
    SSL_CTX *tls;               /* certificate and key for HTTPS */
    const struct config *config; /* latency, jitter, ports, folders */
    struct stats stats;         /* for /stats and /stats/log */
    struct conn **by_fd;        /* like Redis ae: look up by fd */
    size_t fd_limit;            /* entries in by_fd */
    struct conn *all;           /* list of all connections */
    size_t count;               /* connections in that list */
    struct conn *idle_head;     /* least recently active connection */
    struct conn *idle_tail;     /* most recently active connection */
    struct deadline_heap timers;   /* connections waiting for a delay */
    uint64_t numbers;           /* connections accepted so far */
    uint64_t random_state;      /* xorshift state for the jitter */
};

/* Room for fd_limit connections (one per possible fd), the stats and
 * the jitter's seed. 0, or -1 when out of memory. */
int conns_init(struct conns *cs, int epfd, SSL_CTX *tls,
               const struct config *cfg, size_t fd_limit);

/* Close every connection and free what conns_init() made. */
void conns_free(struct conns *cs);

/* Take an accepted socket: watch it, and read the request if it is
 * there already. -1 (fd untouched, the caller closes it) when it
 * cannot. */
int conn_accepted(struct conns *cs, int fd, bool tls);

/* epoll reported events with this key (epoll_event.data.u64, which
 * conn.c set): move that connection along. A key of a connection
 * closed earlier in the same batch is recognised and dropped. */
void conns_event(struct conns *cs, uint64_t key, uint32_t events);

/* Send the delayed responses that are due and close the connections
 * idle too long, as of now. */
void conns_expire(struct conns *cs, int64_t now);

/* The next time conns_expire() has work to do, or INT64_MAX. */
int64_t conns_next_deadline(const struct conns *cs);

#endif
/* SPDX-License-Identifier: MIT */
