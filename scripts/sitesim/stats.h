/* stats.h -- what sitesim counts for /stats and remembers for
 * /stats/log (stats.c). Below the connections: conn.c calls it, and it
 * calls nothing but the clock.
 */
#ifndef SITESIM_STATS_H
#define SITESIM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define SITESIM_LOG_MAX 100000         /* /stats/log keeps this many */
#define SITESIM_LOG_PATH 100           /* path bytes kept per log line */
#define SITESIM_LOG_LINE (76 + SITESIM_LOG_PATH) /* longest log line */

/* What a logged request was, as far as a download goes (the last
 * field of its /stats/log line). Only a FULL one is a download: a GET
 * without Range whose response went out in full and whose connection
 * the client did not reset with bytes of it unread. */
enum log_kind {
    KIND_GET,                   /* "get": a GET, not yet answered */
    KIND_FULL,                  /* "full": a download (above) */
    KIND_CUT,                   /* "cut": a GET not sent in full, or
                                   reset by the client unread */
    KIND_HEAD,                  /* "head": HEAD, no body */
    KIND_RANGE,                 /* "range": a GET with a Range header */
    KIND_OTHER                  /* "other": another method, bad head */
};

/* One line of /stats/log: a non-stats request. */
struct log_entry {
    int64_t arrival_us;         /* head read, us since the last reset */
    int64_t done_us;            /* response sent, or -1 in flight */
    uint64_t conn_id;           /* the connection's number */
    int status;                 /* the status we answer */
    enum log_kind kind;         /* a download or not (enum log_kind) */
    char path[SITESIM_LOG_PATH]; /* path and query, maybe truncated */
};

/* The counters /stats reports. Only non-stats requests count. */
struct stats {
    uint64_t connections_total;       /* counted connections */
    uint64_t connections_open;        /* counted ones still open */
    uint64_t connections_peak;        /* most open at once */
    uint64_t requests_total;          /* non-stats requests */
    uint64_t downloads_total;         /* of those, KIND_FULL ones */
    uint64_t requests_inflight;       /* read, response not yet sent */
    uint64_t requests_inflight_peak;  /* most in flight at once */
    uint64_t http_connections_total;  /* counted, on the HTTP port */
    uint64_t https_connections_total; /* counted, on the HTTPS port */
    int64_t reset_at_us;              /* start or last /stats/reset */
    struct log_entry *log;            /* ring of SITESIM_LOG_MAX */
    uint64_t log_first;               /* first sequence since reset */
    uint64_t log_next;                /* sequence of the next entry */
};

int stats_init(struct stats *st, int64_t now);
void stats_free(struct stats *st);
void stats_connection_counted(struct stats *st, bool tls);
void stats_connection_closed(struct stats *st);
uint64_t stats_request_begin(struct stats *st, int64_t arrival,
                             uint64_t conn_id, int status,
                             const char *path, enum log_kind kind);
void stats_request_done(struct stats *st, uint64_t seq, int64_t now,
                        bool full);
void stats_connection_reset(struct stats *st, uint64_t conn_id,
                            uint64_t first_seq);
void stats_reset(struct stats *st, int64_t now);
char *stats_format(const struct stats *st, const struct config *cfg,
                   size_t *len);
void stats_log_span(const struct stats *st, uint64_t *first,
                    uint64_t *end);
size_t stats_log_lines(const struct stats *st, uint64_t *next,
                       uint64_t end, char *out, size_t cap);

#endif
/* SPDX-License-Identifier: MIT */
