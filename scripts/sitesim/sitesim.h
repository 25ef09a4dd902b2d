/* sitesim.h -- what the files of the site simulator share.
 *
 * sitesim.c  options, the epoll loop, listening sockets, timers, main()
 * conn.c     one client connection: reading, writing, TLS, delays
 * http.c     HTTP parsing, the paths we serve, the pages
 * stats.c    the counters of /stats and the request log of /stats/log
 * listen.c   listening sockets; who holds a taken port
 * certs.c    the lab CA and the server certificate, made on first start
 */
#ifndef SITESIM_H
#define SITESIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <openssl/ssl.h>

/* ====================== Constants ====================== */

#define SITESIM_HEAD_MAX 8192          /* longest request head we read */
#define SITESIM_IDLE_US (60LL * 1000000) /* idle connections closed after */
#define SITESIM_MAX_EVENTS 256         /* events taken per epoll_wait */
#define SITESIM_BYTES_MAX (100LL * 1024 * 1024) /* largest /bytes/N */
#define SITESIM_DELAY_MAX 600000       /* largest /delay/MS and options */
#define SITESIM_LINGER_US (2LL * 1000000) /* CONN_CLOSING lasts at most */
#define SITESIM_LOG_MAX 100000         /* /stats/log keeps this many */
#define SITESIM_LOG_PATH 100           /* path bytes kept per log line */
#define SITESIM_DRIP_US 1000000        /* /fault/drip: one byte this often */

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
    char kit[4096];             /* folder of the sitesim executable */
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

    char head[1024];            /* status line and headers to send */
    char *big_head;             /* malloc'd head (/fault/bigheader):
                                   sent instead of head[] when set */
    size_t head_len;            /* bytes in the head */
    char small_body[512];       /* body of short generated responses */
    const char *body;           /* body source: a page, small_body,
                                   own_body, or the /bytes pattern */
    char *own_body;             /* malloc'd body (/stats), or NULL */
    uint64_t body_len;          /* body bytes to send (0 for HEAD) */
    bool body_repeats;          /* body is the pattern, repeated */
    uint64_t sent;              /* bytes of head + body sent so far */
    bool close_after;           /* close once this response is sent */
    enum fault fault;           /* /fault/...: how to misbehave */
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
    size_t timer_capacity;      /* entries allocated in timers */

    bool accept_paused;         /* out of fds: listeners switched off */
    int64_t accept_resume_us;   /* when to switch them on again */

    struct epoll_event *events; /* the batch being handled */
    int event_count;            /* entries in that batch */
    int event_index;            /* entry being handled */

    struct stats stats;         /* for /stats */
    uint64_t conn_numbers;      /* connections accepted so far */
    uint64_t random_state;      /* xorshift state for the jitter */
};

/* ====================== Functions ====================== */

/* sitesim.c */
int64_t now_us(void);
void log_line(struct server *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void timer_add(struct server *s, struct conn *c);
void timer_remove(struct server *s, struct conn *c);

/* conn.c */
struct conn *conn_new(struct server *s, int fd, bool tls);
void conn_event(struct server *s, struct conn *c, uint32_t events);
void conn_timer_fired(struct server *s, struct conn *c);
void conn_close(struct server *s, struct conn *c);

/* http.c */
int pages_init(void);
bool http_head_complete(const char *buf, size_t len, size_t *head_len);
void http_handle(struct server *s, struct conn *c,
                 char *head, size_t head_len);
void http_error(struct server *s, struct conn *c, int status);
size_t http_body_copy(const struct conn *c, uint64_t offset,
                      char *out, size_t cap);

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
char *stats_log_format(struct stats *st, size_t *len);

/* listen.c */
int listen_on(const struct config *cfg, int port);

/* certs.c */
int certs_ensure(const char *dir);
SSL_CTX *certs_server_context(const char *dir);

#endif
