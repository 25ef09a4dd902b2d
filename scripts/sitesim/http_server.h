/* http_server.h -- the HTTP side of sitesim (http_server.c): parse a
 * request head, decide the response (struct response), frame it. The
 * bottom of the stack: accept (listen.c) -> connection (conn.c) -> HTTP
 * (here). It changes nothing and calls nothing of sitesim; conn.c
 * carries out what it decides. (common/http.c is the labs' client.)
 */
#ifndef SITESIM_HTTP_SERVER_H
#define SITESIM_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "stats.h"      /* SITESIM_LOG_PATH */

#define SITESIM_BYTES_MAX (100LL * 1024 * 1024) /* largest /bytes/N */

/* The misbehaviour a /fault/ path asks of conn.c. Each acts once
 * c->send_limit bytes of the response are sent. */
enum fault {
    FAULT_NONE,        /* a well-behaved response */
    FAULT_CLOSE,       /* close before the headers (limit 0) */
    FAULT_RESET,       /* mid-body: SO_LINGER 0 and close (a TCP RST) */
    FAULT_SHORT,       /* stop short of Content-Length, close (FIN) */
    FAULT_STALL,       /* send the headers, then nothing, ever */
    FAULT_DRIP,        /* send the body one byte a second */
};

/* What /stats... a request asks for; conn.c makes the body. */
enum stats_page {
    STATS_NONE,        /* not a stats request */
    STATS_SHOW,        /* /stats */
    STATS_RESET,       /* /stats/reset: zero, then as /stats */
    STATS_LOG,         /* /stats/log */
};

/* The response to one request, as http_server.c decides it; conn.c
 * carries it out (counts it, delays it, sends it, misbehaves as
 * `fault` says). */
struct response {
    int status;                 /* 200, 404, ... */
    const char *type;           /* Content-Type */
    const char *body;           /* body bytes (see body_repeats) */
    uint64_t body_len;          /* Content-Length */
    bool body_repeats;          /* body is the /bytes pattern */
    char small_body[512];       /* short generated bodies live here */
    char location[300];         /* Location header, or "" */
    bool allow_header;          /* add "Allow: GET, HEAD" (for 405) */
    bool chunked;               /* "Transfer-Encoding: chunked", and
                                   the body is sent as it is */
    bool streamed;              /* /stats/log: no body here; conn.c
                                   makes it piece by piece as it sends,
                                   chunked (HTTP/1.0: until the close) */
    size_t big_header;          /* > 0: add a header this long */
    enum fault fault;           /* /fault/...: see enum fault */
    uint64_t body_before_fault; /* RESET, SHORT: body bytes sent first */

    bool head_only;             /* HEAD: the head, no body */
    bool is_get;                /* a GET (a download, if sent in full) */
    bool ranged;                /* it asked for a Range (answered in
                                   full, yet never a download) */
    bool keep_alive;            /* keep the connection after it */
    bool http10;                /* an HTTP/1.0 request */
    bool counted;               /* not a stats request: count, log it */
    enum stats_page stats_page; /* a stats request: which */
    bool delayed;               /* wait latency (+ extra) before it */
    int64_t extra_delay_us;     /* /delay/MS: this much more */
    char log_path[SITESIM_LOG_PATH]; /* path and query, for the log */
};

int pages_init(void);
bool http_head_complete(const char *buf, size_t len, size_t *head_len);
void http_handle(const struct config *cfg, bool tls, char *head,
                 size_t head_len, struct response *resp);
void http_error(int status, struct response *resp);
void http_stats_body(struct response *resp, const char *body,
                     size_t len);
size_t http_head_format(const struct response *resp, char *out,
                        size_t cap);
char *http_big_head(const char *head, size_t head_len, size_t size,
                    size_t *len);
size_t http_body_copy(const struct response *resp, uint64_t offset,
                      char *out, size_t cap);
size_t http_chunk_frame(char *out, const char *data, size_t len,
                        bool http10);

#endif
/* SPDX-License-Identifier: MIT */
