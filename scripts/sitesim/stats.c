/* stats.c -- what sitesim counts for /stats and remembers for /stats/log.
 *
 * A request is "in flight" from the moment its head is read until its
 * response is sent in full (or its connection ends). /stats reports the
 * most in flight at once; /stats/log lists every non-stats request since
 * the last /stats/reset, one line each:
 *
 *     ARRIVAL_US DONE_US STATUS CONN PATH KIND
 *     1203 52877 200 1 /page/1 full
 *     1410 -1 200 2 /fault/stall get
 *
 * (microseconds since the reset; DONE_US -1 while still in flight; CONN
 * the connection's number, 1 for the first since sitesim started). The
 * log is a ring of the last SITESIM_LOG_MAX requests, so a long run
 * costs a fixed amount of memory.
 *
 * A line ends with what the request was (enum log_kind): "full" is a
 * download -- a GET without Range, its response sent in full, its
 * connection not reset by a client that left bytes of it unread (the
 * kernel resets a socket closed with unread input) -- and "get" one
 * still being answered; "cut", "head", "range" and "other" are not
 * downloads, and downloads_total counts the "full" ones. A grader
 * counts what a program downloaded from these, never from its output. This file changes nothing but the
 * counters and the log, and calls nothing but the clock.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

/* Allocate the log ring. Returns 0, or -1 when out of memory. */
int stats_init(struct stats *st, int64_t now)
{
    memset(st, 0, sizeof(*st));
    st->log = calloc(SITESIM_LOG_MAX, sizeof(*st->log));
    st->reset_at_us = now;
    return st->log == NULL ? -1 : 0;
}

void stats_free(struct stats *st)
{
    free(st->log);
    st->log = NULL;
}

/* The entry of sequence number seq, or NULL if it is gone (before the
 * last reset, or pushed out of the ring since). */
static struct log_entry *log_entry(struct stats *st, uint64_t seq)
{
    if (seq < st->log_first || seq >= st->log_next ||
        st->log_next - seq > SITESIM_LOG_MAX)
        return NULL;
    return &st->log[seq % SITESIM_LOG_MAX];
}

/* A connection served its first counted request. */
void stats_connection_counted(struct stats *st, bool tls)
{
    st->connections_total++;
    st->connections_open++;
    if (st->connections_open > st->connections_peak)
        st->connections_peak = st->connections_open;
    if (tls)
        st->https_connections_total++;
    else
        st->http_connections_total++;
}

/* A counted connection closed. */
void stats_connection_closed(struct stats *st)
{
    st->connections_open--;
}

/* A non-stats request arrived at `arrival` (monotonic us) and will be
 * answered with `status`. Returns its sequence number for
 * stats_request_done(). */
uint64_t stats_request_begin(struct stats *st, int64_t arrival,
                             uint64_t conn_id, int status,
                             const char *path, enum log_kind kind)
{
    uint64_t seq = st->log_next++;
    struct log_entry *e = &st->log[seq % SITESIM_LOG_MAX];

    st->requests_total++;
    st->requests_inflight++;
    if (st->requests_inflight > st->requests_inflight_peak)
        st->requests_inflight_peak = st->requests_inflight;
    e->arrival_us = arrival - st->reset_at_us;
    e->done_us = -1;
    e->conn_id = conn_id;
    e->status = status;
    e->kind = kind;
    snprintf(e->path, sizeof(e->path), "%s", path);  /* may truncate */
    return seq;
}

/* The request `seq` is over at `now`: sent in full (full), or its
 * connection ended first. A GET sent in full is a download, until
 * stats_connection_reset() says otherwise. */
void stats_request_done(struct stats *st, uint64_t seq, int64_t now,
                        bool full)
{
    struct log_entry *e = log_entry(st, seq);

    st->requests_inflight--;
    if (e == NULL)
        return;
    e->done_us = now - st->reset_at_us;
    if (e->kind == KIND_GET) {
        e->kind = full ? KIND_FULL : KIND_CUT;
        if (full)
            st->downloads_total++;
    }
}

/* The client reset connection conn_id: it closed its socket with bytes
 * we sent still unread (or it aborted). Which responses it read is not
 * known, so none of that connection's, from log sequence first_seq on,
 * is a download. */
void stats_connection_reset(struct stats *st, uint64_t conn_id,
                            uint64_t first_seq)
{
    uint64_t seq = first_seq;

    if (seq < st->log_first)
        seq = st->log_first;
    if (st->log_next - seq > SITESIM_LOG_MAX)
        seq = st->log_next - SITESIM_LOG_MAX;
    for (; seq < st->log_next; seq++) {
        struct log_entry *e = &st->log[seq % SITESIM_LOG_MAX];
        if (e->conn_id != conn_id)
            continue;
        if (e->kind == KIND_FULL && st->downloads_total > 0)
            st->downloads_total--;
        if (e->kind == KIND_FULL || e->kind == KIND_GET)
            e->kind = KIND_CUT;
    }
}

/* The word of a log line for kind. */
static const char *kind_word(enum log_kind kind)
{
    static const char *const words[] = {
        [KIND_GET] = "get", [KIND_FULL] = "full", [KIND_CUT] = "cut",
        [KIND_HEAD] = "head", [KIND_RANGE] = "range",
        [KIND_OTHER] = "other",
    };
    return (size_t)kind < sizeof(words) / sizeof(words[0]) ? words[kind]
                                                          : "other";
}

/* /stats/reset: totals and the log to zero; the peaks start again from
 * what is open and in flight now. */
void stats_reset(struct stats *st, int64_t now)
{
    st->connections_total = 0;
    st->requests_total = 0;
    st->downloads_total = 0;
    st->http_connections_total = 0;
    st->https_connections_total = 0;
    st->connections_peak = st->connections_open;
    st->requests_inflight_peak = st->requests_inflight;
    st->reset_at_us = now;
    st->log_first = st->log_next;
}

/* The /stats body, one key=value a line, in a malloc'd string (the
 * caller frees it); *len is its length. NULL when out of memory.
 * pid, kit and dir tell a second sitesim who holds the port (listen.c). */
char *stats_format(const struct stats *st, const struct config *cfg,
                   size_t *len)
{
    char *text = NULL;
    int n = asprintf(&text,
                     "connections_total=%llu\n"
                     "connections_open=%llu\n"
                     "connections_peak=%llu\n"
                     "requests_total=%llu\n"
                     "downloads_total=%llu\n"
                     "requests_inflight=%llu\n"
                     "requests_inflight_peak=%llu\n"
                     "http_connections_total=%llu\n"
                     "https_connections_total=%llu\n"
                     "pid=%d\n"
                     "kit=%s\n"
                     "dir=%s\n",
                     (unsigned long long)st->connections_total,
                     (unsigned long long)st->connections_open,
                     (unsigned long long)st->connections_peak,
                     (unsigned long long)st->requests_total,
                     (unsigned long long)st->downloads_total,
                     (unsigned long long)st->requests_inflight,
                     (unsigned long long)st->requests_inflight_peak,
                     (unsigned long long)st->http_connections_total,
                     (unsigned long long)st->https_connections_total,
                     (int)getpid(), cfg->kit, cfg->dir);
    if (n < 0)
        return NULL;
    *len = (size_t)n;
    return text;
}

/* The part of the log a /stats/log asks for at this moment: sequence
 * numbers [*first, *end), the requests since the last reset that the
 * ring still holds. */
void stats_log_span(const struct stats *st, uint64_t *first,
                    uint64_t *end)
{
    *first = st->log_first;
    if (st->log_next - *first > SITESIM_LOG_MAX)
        *first = st->log_next - SITESIM_LOG_MAX;
    *end = st->log_next;
}

/* Format the log's lines from *next on (up to end) into out, as many
 * whole lines as fit in cap bytes (cap >= SITESIM_LOG_LINE), and move
 * *next past them. Returns the bytes written; 0 once *next reaches end.
 * A line is written as it is now (a DONE_US of -1 may have become a
 * time); lines the ring has dropped meanwhile, because over
 * SITESIM_LOG_MAX newer requests came while a slow client read, are
 * skipped. So a client of /stats/log costs a cursor, not a copy. */
size_t stats_log_lines(const struct stats *st, uint64_t *next,
                       uint64_t end, char *out, size_t cap)
{
    size_t used = 0;

    if (st->log_next - *next > SITESIM_LOG_MAX)
        *next = st->log_next - SITESIM_LOG_MAX;  /* dropped: skip them */
    while (*next < end) {
        const struct log_entry *e = &st->log[*next % SITESIM_LOG_MAX];
        int n = snprintf(out + used, cap - used,
                         "%lld %lld %d %llu %s %s\n",
                         (long long)e->arrival_us, (long long)e->done_us,
                         e->status, (unsigned long long)e->conn_id,
                         e->path, kind_word(e->kind));
        if (n < 0 || (size_t)n >= cap - used)
            break;  /* full: this line goes first in the next piece */
        used += (size_t)n;
        (*next)++;
    }
    return used;
}
/* SPDX-License-Identifier: MIT */
