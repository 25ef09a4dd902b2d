/* sitesim.h -- what the files of the site simulator share.
 *
 * The files call downward only, never back up:
 *
 *   sitesim.c   main(): startup, the epoll loop, signals, pidfile
 *     |-- config.c   defaults, environment, options, --help
 *     |-- listen.c   listening sockets, accepting; who holds a taken port
 *     |     |
 *     +-----+-- conn.c   one connection: reading, writing, TLS, delays,
 *                 |      faults; it alone changes a connection's state
 *                 |-- http.c    parse a request, decide the response
 *                 |             (struct response); changes nothing
 *                 |-- stats.c   /stats counters and the /stats/log ring
 *                 +-- timers.c  the min-heap of delayed connections
 *   log.c     the --log file (every file may write a line)
 *   certs.c   the lab CA and the server certificate, made on first start
 *
 * From the kit's common/ it links timer.c (monotonic_us, the clock),
 * options.c and error.c (checked numbers, the one-line usage error).
 * It does not share common/http.c's folder lookup, which is private to
 * that file; config.c finds .sitesim next to the executable the same way.
 */
#ifndef SITESIM_H
#define SITESIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <openssl/ssl.h>

#include "timer.h"      /* common/: monotonic_us() */

/* ====================== Constants ====================== */

#define SITESIM_HEAD_MAX 8192          /* longest request head we read */
#define SITESIM_IDLE_US (60LL * 1000000) /* idle connections closed after */
#define SITESIM_MAX_EVENTS 256         /* events taken per epoll_wait */
#define SITESIM_BYTES_MAX (100LL * 1024 * 1024) /* largest /bytes/N */
#define SITESIM_DELAY_MAX 600000       /* largest /delay/MS and options */
#define SITESIM_LINGER_US (2LL * 1000000) /* CONN_CLOSING lasts at most */
#define SITESIM_LOG_MAX 100000         /* /stats/log keeps this many */
#define SITESIM_LOG_PATH 100           /* path bytes kept per log line */
#define SITESIM_LOG_LINE (70 + SITESIM_LOG_PATH) /* longest log line */
#define SITESIM_DRIP_US 1000000        /* /fault/drip: one byte this often */
#define SITESIM_WRITE_TURN 16384       /* bytes one connection may send per
                                          turn of the loop (one TLS record):
                                          a fast reader of a big body
                                          cannot starve the others */
#define SITESIM_STREAM_CHUNK SITESIM_WRITE_TURN /* /stats/log is made
                                          and sent a piece this big (with
                                          its chunk framing) at a time */

/* ====================== Structures ====================== */

/* What a connection is doing; conn.c moves it along these steps. */
enum conn_state {
    CONN_HANDSHAKE,    /* TLS handshake in progress (HTTPS only) */
    CONN_READING,      /* waiting for (the rest of) a request head */
    CONN_WAITING,      /* response ready, its delay timer is armed */
    CONN_WRITING,      /* sending the response */
    CONN_CLOSING,      /* last response sent: drop what the client still
                          sends until it closes (at most 2 s) */
    CONN_STALLED,      /* /fault/stall: headers sent, the body never
                          comes; drop input until the client goes */
};

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

/* The settings, from defaults, then environment, then options. */
struct config {
    int http_port;              /* plain HTTP port (default 8480) */
    int https_port;             /* HTTPS port (default 8443) */
    int latency_ms;             /* mean delay before each response */
    int jitter_ms;              /* +/- uniform spread around latency */
    int conn_delay_ms;          /* extra delay before a connection's
                                   first response */
    char dir[4096];             /* folder with ca.pem, server.pem/.key */
    char kit[4096];             /* the kit's folder (has scripts/serve) */
    const char *pidfile;        /* --pidfile FILE, or NULL */
    const char *logfile;        /* --log FILE, or NULL */
};

/* One line of /stats/log: a non-stats request. */
struct log_entry {
    int64_t arrival_us;         /* head read, us since the last reset */
    int64_t done_us;            /* response sent, or -1 in flight */
    uint64_t conn_id;           /* the connection's number */
    int status;                 /* the status we answer */
    char path[SITESIM_LOG_PATH]; /* path and query, maybe truncated */
};

/* The counters /stats reports. Only non-stats requests count. */
struct stats {
    uint64_t connections_total;       /* counted connections */
    uint64_t connections_open;        /* counted ones still open */
    uint64_t connections_peak;        /* most open at once */
    uint64_t requests_total;          /* non-stats requests */
    uint64_t requests_inflight;       /* read, response not yet sent */
    uint64_t requests_inflight_peak;  /* most in flight at once */
    uint64_t http_connections_total;  /* counted, on the HTTP port */
    uint64_t https_connections_total; /* counted, on the HTTPS port */
    int64_t reset_at_us;              /* start or last /stats/reset */
    struct log_entry *log;            /* ring of SITESIM_LOG_MAX */
    uint64_t log_first;               /* first sequence since reset */
    uint64_t log_next;                /* sequence of the next entry */
};

/* What /stats... a request asks for; conn.c makes the body. */
enum stats_page {
    STATS_NONE,        /* not a stats request */
    STATS_SHOW,        /* /stats */
    STATS_RESET,       /* /stats/reset: zero, then as /stats */
    STATS_LOG,         /* /stats/log */
};

/* The response to one request, as http.c decides it; conn.c carries it
 * out (counts it, delays it, sends it, misbehaves as `fault` says). */
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
    bool keep_alive;            /* keep the connection after it */
    bool http10;                /* an HTTP/1.0 request */
    bool counted;               /* not a stats request: count, log it */
    enum stats_page stats_page; /* a stats request: which */
    bool delayed;               /* wait latency (+ extra) before it */
    int64_t extra_delay_us;     /* /delay/MS: this much more */
    char log_path[SITESIM_LOG_PATH]; /* path and query, for the log */
};

/* One client connection. */
struct conn {
    int fd;                     /* the accepted socket */
    SSL *ssl;                   /* TLS state, NULL on the HTTP port */
    bool tls_failed;            /* TLS error: skip the close_notify */
    enum conn_state state;      /* see enum conn_state */
    uint32_t wait_events;       /* EPOLLIN/EPOLLOUT the step waits for */
    uint32_t epoll_events;      /* what epoll watches for now */
    bool read_closed;           /* the client sent EOF (no more input) */
    bool socket_drained;        /* last read() was short: wait for
                                   EPOLLIN before trying again */
    uint64_t id;                /* connection number, from 1 */
    bool counted;               /* served a non-stats request already */
    bool in_flight;             /* a counted request is being answered */
    uint64_t log_seq;           /* its entry in the request log */
    bool first_response;        /* next counted response is the first */

    char in[SITESIM_HEAD_MAX];  /* bytes read, not yet parsed */
    size_t in_len;              /* bytes in in[] */

    struct response response;   /* the one being answered */
    char head[1024];            /* status line and headers to send */
    char *big_head;             /* malloc'd head (/fault/bigheader):
                                   sent instead of head[] when set */
    size_t head_len;            /* bytes in the head */
    char *own_body;             /* malloc'd body (/stats), or NULL */
    char *stream;               /* malloc'd piece of a streamed body,
                                   framed (SITESIM_STREAM_CHUNK), or NULL */
    size_t stream_len;          /* bytes in stream[] */
    size_t stream_sent;         /* of those, sent so far */
    uint64_t stream_next;       /* log sequence to format next */
    uint64_t stream_end;        /* the log's end when it was asked for */
    bool stream_ended;          /* the last piece is in stream[] */
    uint64_t body_len;          /* body bytes to send (0 for HEAD) */
    uint64_t sent;              /* bytes of head + body sent so far */
    bool close_after;           /* close once this response is sent */
    enum fault fault;           /* /fault/...: how to misbehave now */
    uint64_t send_limit;        /* the fault acts once this much is
                                   sent (FAULT_NONE: head + body) */

    int64_t wake_at_us;         /* when the delayed response is due
                                   (CONN_CLOSING: when to give up) */
    bool timer_armed;           /* in server.timers right now */
    size_t heap_index;          /* position in server.timers */
    int64_t active_at_us;       /* last progress; for the idle timeout */

    struct conn *prev, *next;           /* all connections */
    struct conn *idle_prev, *idle_next; /* not waiting, oldest first */
};

/* The whole simulator: one of these lives in main(). */
struct server {
    struct config config;       /* settings */
    int epfd;                   /* the epoll instance */
    int http_fd;                /* listening socket, HTTP */
    int https_fd;               /* listening socket, HTTPS */
    int signal_fd;              /* signalfd for SIGTERM and SIGINT */
    SSL_CTX *tls;               /* certificate and key for HTTPS */
    FILE *log;                  /* --log file, or NULL */
    bool stopping;              /* a signal came: leave the loop */

    struct conn **conn_by_fd;   /* like Redis ae: look up by fd */
    size_t fd_limit;            /* entries in conn_by_fd */
    struct conn *conns;         /* list of all connections */
    size_t conn_count;          /* connections in that list */
    struct conn *idle_head;     /* least recently active connection */
    struct conn *idle_tail;     /* most recently active connection */

    struct conn **timers;       /* min-heap of waiting connections,
                                   ordered by wake_at_us */
    size_t timer_count;         /* entries used in timers */

    bool accept_paused;         /* out of fds: listeners switched off */
    int64_t accept_resume_us;   /* when to switch them on again */

    struct stats stats;         /* for /stats */
    uint64_t conn_numbers;      /* connections accepted so far */
    uint64_t random_state;      /* xorshift state for the jitter */
};

/* ====================== Functions ====================== */

/* epoll's data for an fd: the fd, and for a connection its number, so
 * an event for a connection closed earlier in the same batch (whose fd
 * accept() may have handed out again) is recognised and dropped. */
static inline uint64_t epoll_key(int fd, uint64_t conn_id)
{
    return (uint64_t)(uint32_t)fd | (conn_id << 32);
}

/* config.c */
int config_load(struct config *cfg, int argc, char **argv);

/* listen.c */
int listen_on(const struct config *cfg, int port);
void listener_accept(struct server *s, int listen_fd, bool tls);
void listeners_resume(struct server *s, int64_t now);

/* conn.c */
struct conn *conn_new(struct server *s, int fd, bool tls);
void conn_event(struct server *s, struct conn *c, uint32_t events);
void conn_timer_fired(struct server *s, struct conn *c);
void conn_close(struct server *s, struct conn *c);

/* http.c */
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

/* stats.c */
int stats_init(struct stats *st, int64_t now);
void stats_free(struct stats *st);
void stats_connection_counted(struct stats *st, bool tls);
void stats_connection_closed(struct stats *st);
uint64_t stats_request_begin(struct stats *st, int64_t arrival,
                             uint64_t conn_id, int status,
                             const char *path);
void stats_request_done(struct stats *st, uint64_t seq, int64_t now);
void stats_reset(struct stats *st, int64_t now);
char *stats_format(const struct stats *st, const struct config *cfg,
                   size_t *len);
void stats_log_span(const struct stats *st, uint64_t *first,
                    uint64_t *end);
size_t stats_log_lines(const struct stats *st, uint64_t *next,
                       uint64_t end, char *out, size_t cap);

/* timers.c */
void timer_add(struct server *s, struct conn *c);
void timer_remove(struct server *s, struct conn *c);
struct conn *timer_first(const struct server *s);

/* log.c */
void log_line(struct server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* certs.c */
int certs_ensure(const char *dir);
SSL_CTX *certs_server_context(const char *dir);

#endif
