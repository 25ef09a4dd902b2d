/* conn.c -- one client connection of sitesim, as a small state machine
 * driven by the epoll loop in sitesim.c (and listen.c, on accept).
 *
 * Every change of a connection's state happens in this file: http_server.c
 * only decides a response (struct response), and conn_respond() counts
 * it (stats.c), arms its delay (deadlines.c) and sends it. Calls go down
 * from here, never back to the loop.
 *
 *   HANDSHAKE --> READING --> WAITING --> WRITING --+--> CLOSING
 *   (HTTPS only)     ^        (timer)               |  ("Connection:
 *                    +------------------------------+    close")
 *                                 (keep-alive)      +--> STALLED
 *                                                     (/fault/stall)
 * A /fault/ response stops after its first c->send_limit bytes and then
 * misbehaves as c->fault says (conn_fault()).
 *
 * Every step either finishes, or must wait for the socket to become
 * readable or writable (it says which in c->wait_events), or fails.
 * Nothing here ever blocks: the sockets are non-blocking, and the
 * delays are timers in the loop, not sleeps.
 *
 * TLS makes one thing less obvious: SSL_read() may need to *write*
 * (and SSL_write() to read), so the event a step waits for comes from
 * SSL_get_error() (WANT_READ / WANT_WRITE), not from the step's name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>

#include "conn.h"
#include "deadlines.h"
#include "http_server.h"
#include "log.h"
#include "stats.h"
#include "timer.h"      /* common/: monotonic_us() */

/* ====================== Constants ====================== */

#define HEAD_MAX 8192                  /* longest request head we read */
#define IDLE_US (60LL * 1000000)       /* idle connections closed after */
#define LINGER_US (2LL * 1000000)      /* CONN_CLOSING lasts at most */
#define DRIP_US 1000000                /* /fault/drip: one byte this often */
#define WRITE_TURN 16384               /* bytes one connection may send per
                                          turn of the loop (one TLS record):
                                          a fast reader of a big body
                                          cannot starve the others */
#define STREAM_CHUNK WRITE_TURN        /* /stats/log is made and sent a
                                          piece this big (with its chunk
                                          framing) at a time */

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
    uint64_t first_seq;         /* its first counted request's entry */
    bool peer_reset;            /* the client reset the connection */
    bool goodbye_sent;          /* we sent TLS close_notify: a reset
                                   after it may answer it, not say
                                   that a response went unread */
    bool first_response;        /* next counted response is the first */

    char in[HEAD_MAX];          /* bytes read, not yet parsed */
    size_t in_len;              /* bytes in in[] */

    struct response response;   /* the one being answered */
    char head[1024];            /* status line and headers to send */
    char *big_head;             /* malloc'd head (/fault/bigheader):
                                   sent instead of head[] when set */
    size_t head_len;            /* bytes in the head */
    char *own_body;             /* malloc'd body (/stats), or NULL */
    char *stream;               /* malloc'd piece of a streamed body,
                                   framed (STREAM_CHUNK), or NULL */
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

    struct deadline timer;      /* when the delayed response is due
                                   (CONN_CLOSING: when to give up);
                                   in conns.timers while armed */
    int64_t active_at_us;       /* last progress; for the idle timeout */

    struct conn *prev, *next;           /* all connections */
    struct conn *idle_prev, *idle_next; /* not waiting, oldest first */
};

/* What a step returns. */
enum step {
    STEP_DONE,          /* finished: go on to the next state */
    STEP_AGAIN,         /* must wait for c->wait_events */
    STEP_EOF,           /* the client closed its side */
    STEP_FAILED,        /* the connection is broken: close it */
};

/* ====================== Idle list ====================== */

/* Connections that are not waiting on a timer sit in a list, least
 * recently active first. As the idle timeout is the same for all,
 * the loop only ever looks at the head of the list. */

static void idle_remove(struct conns *cs, struct conn *c)
{
    if (c->idle_prev == NULL && cs->idle_head != c)
        return;  /* not in the list */
    if (c->idle_prev != NULL)
        c->idle_prev->idle_next = c->idle_next;
    else
        cs->idle_head = c->idle_next;
    if (c->idle_next != NULL)
        c->idle_next->idle_prev = c->idle_prev;
    else
        cs->idle_tail = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
}

/* The connection made progress: move it to the tail of the list. */
static void idle_touch(struct conns *cs, struct conn *c)
{
    idle_remove(cs, c);
    c->active_at_us = monotonic_us();
    c->idle_prev = cs->idle_tail;
    if (cs->idle_tail != NULL)
        cs->idle_tail->idle_next = c;
    else
        cs->idle_head = c;
    cs->idle_tail = c;
}

/* ====================== Creating and closing ====================== */

/* Send TLS's close_notify once, if TLS is still healthy; we do not wait
 * for the client's answer. */
static void tls_goodbye(struct conn *c)
{
    if (c->tls_failed || !SSL_is_init_finished(c->ssl) ||
        (SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN))
        return;
    ERR_clear_error();
    c->goodbye_sent = true;
    (void)SSL_shutdown(c->ssl);  /* non-blocking: best effort */
    ERR_clear_error();
}

/* Did the client reset the connection (ECONNRESET, or EPIPE once it
 * had sent its FIN)? Its kernel does so when it closes a socket with
 * bytes we sent still unread: a response it did not take. */
static bool reset_errno(int err)
{
    return err == ECONNRESET || err == EPIPE;
}

/* Look at the socket's pending error (which this clears) for a reset. */
static void reset_check(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
        reset_errno(err))
        c->peer_reset = true;
}

/* epoll's data for a connection's fd: the fd, and the connection's
 * number, so an event for a connection closed earlier in the same
 * batch (whose fd accept() may have handed out again) is recognised and
 * dropped. Numbers start at 1: a key is never a bare fd, which is what
 * the listeners and the signalfd use. */
static uint64_t conn_key(int fd, uint64_t id)
{
    return (uint64_t)(uint32_t)fd | (id << 32);
}

/* Make a connection for an accepted socket and watch it for input.
 * Returns NULL (socket untouched) if that fails. */
static struct conn *conn_new(struct conns *cs, int fd, bool tls)
{
    struct epoll_event ev = { .events = EPOLLIN };
    struct conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->fd = fd;
    c->id = ++cs->numbers;
    ev.data.u64 = conn_key(fd, c->id);
    c->first_response = true;
    c->state = CONN_READING;
    c->wait_events = EPOLLIN;
    c->epoll_events = EPOLLIN;
    if (tls) {
        c->ssl = SSL_new(cs->tls);
        if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1)
            goto out_free;
        SSL_set_accept_state(c->ssl);
        c->state = CONN_HANDSHAKE;
    }
    if (epoll_ctl(cs->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        goto out_free;

    /* link it in: the fd table, the list of all, the idle list */
    cs->by_fd[fd] = c;
    c->next = cs->all;
    if (cs->all != NULL)
        cs->all->prev = c;
    cs->all = c;
    cs->count++;
    idle_touch(cs, c);
    return c;

out_free:
    SSL_free(c->ssl);  /* SSL_free(NULL) does nothing */
    ERR_clear_error();
    free(c);
    return NULL;
}

/* Close the socket and forget the connection. */
static void conn_close(struct conns *cs, struct conn *c)
{
    /* a reset before our own close_notify: what it sent on this
     * connection may be unread, so none of it is a download */
    if (!c->peer_reset)
        reset_check(c);
    if (c->peer_reset && !c->goodbye_sent && c->counted)
        stats_connection_reset(&cs->stats, c->id, c->first_seq);
    if (c->ssl != NULL) {
        tls_goodbye(c);
        SSL_free(c->ssl);
        ERR_clear_error();
    }
    if (c->timer.armed)
        deadline_remove(&cs->timers, &c->timer);
    idle_remove(cs, c);

    /* EPOLL_CTL_DEL before close(): a habit that matters once fds are
     * shared (dup, fork); here close() alone would also do */
    if (epoll_ctl(cs->epfd, EPOLL_CTL_DEL, c->fd, NULL) != 0)
        log_line("epoll_ctl DEL fd %d: %s", c->fd, strerror(errno));
    if (close(c->fd) != 0 && errno != EINTR)
        log_line("close fd %d: %s", c->fd, strerror(errno));

    /* the fd number may come back from accept() later in this same
     * batch of events: the loop tells them apart by c->id (epoll_key) */
    cs->by_fd[c->fd] = NULL;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        cs->all = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    cs->count--;
    if (c->in_flight)
        stats_request_done(&cs->stats, c->log_seq, monotonic_us(), false);
    if (c->counted)
        stats_connection_closed(&cs->stats);
    free(c->own_body);
    free(c->big_head);
    free(c->stream);
    free(c);
}

/* ====================== TLS ====================== */

/* Turn the result of SSL_accept/SSL_read/SSL_write into a step. */
static enum step tls_step(struct conn *c, int ret)
{
    int err = errno;    /* what the socket said, before anything else runs */
    int kind = SSL_get_error(c->ssl, ret);

    switch (kind) {
    case SSL_ERROR_WANT_READ:
        c->wait_events = EPOLLIN;
        return STEP_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        c->wait_events = EPOLLOUT;
        return STEP_AGAIN;
    case SSL_ERROR_ZERO_RETURN:     /* the client sent close_notify */
        return STEP_EOF;
    default:                        /* e.g. it does not trust our CA */
        /* errno speaks of the socket only in SSL_ERROR_SYSCALL; in the
         * other kinds it is left from some earlier call */
        if (kind == SSL_ERROR_SYSCALL && reset_errno(err))
            c->peer_reset = true;
        c->tls_failed = true;
        ERR_clear_error();
        return STEP_FAILED;
    }
}

static enum step tls_handshake(struct conn *c)
{
    int ret;

    ERR_clear_error();  /* SSL_get_error() reads the queue: start empty */
    ret = SSL_accept(c->ssl);
    if (ret == 1)
        return STEP_DONE;
    return tls_step(c, ret);
}

/* ====================== Reading and writing ====================== */

/* Read what fits into c->in. STEP_DONE means "got bytes or EOF". */
static enum step conn_read(struct conn *c)
{
    size_t room = sizeof(c->in) - c->in_len;
    ssize_t n;

    if (c->ssl != NULL) {
        ERR_clear_error();
        int ret = SSL_read(c->ssl, c->in + c->in_len, (int)room);
        if (ret > 0) {
            c->in_len += (size_t)ret;
            return STEP_DONE;
        }
        enum step step = tls_step(c, ret);
        if (step == STEP_EOF) {
            c->read_closed = true;
            return STEP_DONE;
        }
        return step;
    }

    /* a short read emptied the socket: save a read() that would only
     * say EAGAIN, and let epoll tell us when more comes */
    if (c->socket_drained) {
        c->wait_events = EPOLLIN;
        return STEP_AGAIN;
    }
    n = read(c->fd, c->in + c->in_len, room);
    if (n > 0) {
        c->in_len += (size_t)n;
        c->socket_drained = (size_t)n < room;
        return STEP_DONE;
    }
    if (n == 0) {
        c->read_closed = true;
        return STEP_DONE;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->wait_events = EPOLLIN;
        return STEP_AGAIN;
    }
    if (errno == EINTR)
        return STEP_DONE;
    if (reset_errno(errno))
        c->peer_reset = true;
    return STEP_FAILED;  /* ECONNRESET and friends */
}

/* Copy up to cap not-yet-sent bytes of the response (head, then body)
 * into out. The same state gives the same bytes, which is what
 * OpenSSL asks for when an SSL_write() has to be repeated. */
static size_t output_peek(const struct conn *c, char *out, size_t cap)
{
    size_t n = 0;

    const char *head = c->big_head != NULL ? c->big_head : c->head;

    if (c->sent < c->head_len) {
        n = c->head_len - (size_t)c->sent;
        if (n > cap)
            n = cap;
        memcpy(out, head + c->sent, n);
    }
    if (n < cap && c->sent + n >= c->head_len) {
        uint64_t body_offset = c->sent + n - c->head_len;
        n += http_body_copy(&c->response, body_offset, out + n, cap - n);
    }
    return n;
}

/* Send n bytes of buf; *sent says how many went. For TLS, a piece that
 * has to be retried (WANT_WRITE) is retried with the same buf and n, as
 * OpenSSL asks: output_peek() and c->stream give the same bytes again. */
static enum step conn_send(struct conn *c, const char *buf, size_t n,
                           size_t *sent)
{
    *sent = 0;
    if (c->ssl != NULL) {
        ERR_clear_error();
        int ret = SSL_write(c->ssl, buf, (int)n);
        if (ret > 0) {
            *sent = (size_t)ret;
            return STEP_DONE;
        }
        enum step step = tls_step(c, ret);
        return step == STEP_EOF ? STEP_FAILED : step;  /* cannot answer
                                                     a closed session */
    }

    /* MSG_NOSIGNAL: a client gone away gives EPIPE, not SIGPIPE */
    ssize_t done = send(c->fd, buf, n, MSG_NOSIGNAL);
    if (done >= 0) {
        *sent = (size_t)done;
        return STEP_DONE;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->wait_events = EPOLLOUT;
        return STEP_AGAIN;
    }
    if (reset_errno(errno))
        c->peer_reset = true;
    return errno == EINTR ? STEP_DONE : STEP_FAILED;
}

/* A streamed body (/stats/log): the next piece, made from the log at
 * the connection's cursor once the last one is sent. NULL when the
 * whole body is sent; *n is the piece's unsent length. */
static const char *stream_piece(struct conns *cs, struct conn *c,
                                size_t *n)
{
    static char lines[STREAM_CHUNK - 16];  /* one thread: shared;
                                                     16: the framing */

    if (c->stream_sent == c->stream_len) {
        if (c->stream_ended)
            return NULL;
        size_t len = stats_log_lines(&cs->stats, &c->stream_next,
                                     c->stream_end, lines, sizeof(lines));
        c->stream_ended = len == 0;  /* len 0 frames the last chunk */
        c->stream_len = http_chunk_frame(c->stream, lines, len,
                                         c->response.http10);
        c->stream_sent = 0;
        if (c->stream_len == 0)
            return NULL;  /* HTTP/1.0: no last chunk, the close ends it */
    }
    *n = c->stream_len - c->stream_sent;
    return c->stream + c->stream_sent;
}

/* Send the next piece of the response (head, then body), at most
 * WRITE_TURN bytes: one piece per turn of the loop, so a client
 * that reads a big body fast gets its turns like everyone else, and
 * epoll (level-triggered) brings us back while the socket is writable.
 * STEP_DONE once all is sent (or the first c->send_limit bytes, for a
 * fault). */
static enum step conn_write(struct conns *cs, struct conn *c)
{
    static char scratch[WRITE_TURN];  /* one thread: shared */
    uint64_t total = c->head_len + c->body_len;
    const char *piece = scratch;
    size_t n, sent;
    enum step step;

    if (total > c->send_limit)
        total = c->send_limit;
    if (c->sent < total) {
        n = sizeof(scratch);
        if (n > total - c->sent)
            n = (size_t)(total - c->sent);
        n = output_peek(c, scratch, n);
    } else if (c->stream == NULL || c->fault != FAULT_NONE ||
               (piece = stream_piece(cs, c, &n)) == NULL) {
        return STEP_DONE;  /* all sent */
    }

    step = conn_send(c, piece, n, &sent);
    if (c->sent < total)
        c->sent += sent;
    else
        c->stream_sent += sent;
    if (sent > 0)
        idle_touch(cs, c);  /* a slow reader is not an idle one */
    if (step != STEP_DONE)
        return step;
    if (c->sent < total || (c->stream != NULL &&
                            (!c->stream_ended ||
                             c->stream_sent < c->stream_len))) {
        c->wait_events = EPOLLOUT;  /* more, on the next turn */
        return STEP_AGAIN;
    }
    return STEP_DONE;
}

/* The last response is sent and we want to close. Closing a socket
 * that still has unread input makes the kernel send a reset, which can
 * destroy the response before the client reads it (think of a 431 for
 * a request we did not read to the end). So, as web servers do: stop
 * sending (FIN after the response), then read and drop what comes
 * until the client closes too, or 2 s have passed. */
static enum step conn_linger_start(struct conns *cs, struct conn *c)
{
    if (c->ssl != NULL)
        tls_goodbye(c);
    if (c->read_closed)
        return STEP_EOF;  /* the client has closed already: just close */
    if (shutdown(c->fd, SHUT_WR) != 0)
        return STEP_FAILED;
    c->state = CONN_CLOSING;
    c->wait_events = EPOLLIN;
    c->socket_drained = false;
    idle_remove(cs, c);
    c->timer.due_us = monotonic_us() + LINGER_US;
    deadline_add(&cs->timers, &c->timer);
    return STEP_DONE;
}

/* CONN_CLOSING: read and drop input (raw bytes, TLS or not) until EOF. */
static enum step conn_linger(struct conn *c)
{
    char junk[4096];

    for (int i = 0; i < 16; i++) {  /* bounded: others get a turn too */
        ssize_t n = read(c->fd, junk, sizeof(junk));
        if (n == 0)
            return STEP_EOF;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->wait_events = EPOLLIN;
            return STEP_AGAIN;
        }
        if (n < 0 && errno != EINTR) {
            if (reset_errno(errno))
                c->peer_reset = true;
            return STEP_FAILED;
        }
    }
    c->wait_events = EPOLLIN;
    return STEP_AGAIN;  /* still more: level-triggered epoll says so */
}

/* ====================== Responding ====================== */

/* The delay before a counted response: latency +/- jitter (never
 * below 0), plus the connection delay if it is the first response. */
static int64_t response_delay_us(struct conns *cs, struct conn *c)
{
    const struct config *cfg = cs->config;
    int64_t ms = cfg->latency_ms;

    if (cfg->jitter_ms > 0) {
        /* xorshift64*: small, seeded in main(), good enough for jitter */
        uint64_t x = cs->random_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        cs->random_state = x;
        x *= 0x2545F4914F6CDD1DULL;
        ms += (int64_t)(x % (uint64_t)(2 * cfg->jitter_ms + 1));
        ms -= cfg->jitter_ms;
        if (ms < 0)
            ms = 0;
    }
    if (c->first_response) {
        c->first_response = false;
        ms += cfg->conn_delay_ms;
    }
    return ms * 1000;
}


/* Count a non-stats request that arrived at `arrival` (and its
 * connection, the first time) and put it in the log. It is in flight
 * until its response is sent (conn_run) or the connection ends. */
static void request_count(struct conns *cs, struct conn *c,
                          int64_t arrival)
{
    const struct response *resp = &c->response;
    enum log_kind kind = KIND_GET;

    if (resp->head_only)
        kind = KIND_HEAD;
    else if (!resp->is_get)
        kind = KIND_OTHER;
    else if (resp->ranged)
        kind = KIND_RANGE;
    c->log_seq = stats_request_begin(&cs->stats, arrival, c->id,
                                     resp->status, resp->log_path, kind);
    if (!c->counted) {
        c->counted = true;
        c->first_seq = c->log_seq;
        stats_connection_counted(&cs->stats, c->ssl != NULL);
    }
    c->in_flight = true;
}

/* Before a stats page answers: close every other counted connection
 * the client has reset meanwhile (a program that exited with a response
 * unread), so what the page says knows of it. Its epoll event may be
 * later in this batch, or in the next; the reset is already there. */
static void conns_reap_resets(struct conns *cs, struct conn *self)
{
    struct conn *c = cs->all, *next;

    for (; c != NULL; c = next) {
        int err = 0;
        socklen_t len = sizeof(err);

        next = c->next;
        if (c == self || !c->counted ||
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
            err == 0)
            continue;
        c->peer_reset = reset_errno(err);
        conn_close(cs, c);      /* broken: reading it gives nothing */
    }
}

/* Carry out the response http_server.c decided (c->response) for a request
 * that arrived at `arrival`: stats, counting, the head, the fault, and
 * the delay. Leaves c in WAITING (timer armed) or WRITING. */
static void conn_respond(struct conns *cs, struct conn *c, int64_t arrival)
{
    struct response *resp = &c->response;
    size_t len = 0;
    int64_t delay_us = 0;

    /* the previous response is all sent: drop what it owned */
    free(c->own_body);
    c->own_body = NULL;
    free(c->big_head);
    c->big_head = NULL;
    free(c->stream);
    c->stream = NULL;
    c->stream_len = c->stream_sent = 0;
    c->stream_ended = false;

    if (resp->stats_page != STATS_NONE)
        conns_reap_resets(cs, c);
    if (resp->stats_page == STATS_RESET)
        stats_reset(&cs->stats, arrival);
    if (resp->stats_page == STATS_LOG) {
        /* streamed: a cursor into the log and one piece's room, made
         * as the client reads (conn_write), never the whole log */
        stats_log_span(&cs->stats, &c->stream_next, &c->stream_end);
        if (!resp->head_only) {
            c->stream = malloc(STREAM_CHUNK);
            if (c->stream == NULL)
                http_stats_body(resp, NULL, 0);  /* a 500 */
        }
    } else if (resp->stats_page != STATS_NONE) {
        c->own_body = stats_format(&cs->stats, cs->config, &len);
        http_stats_body(resp, c->own_body, len);
    }
    if (resp->counted)
        request_count(cs, c, arrival);

    c->head_len = http_head_format(resp, c->head, sizeof(c->head));
    if (resp->big_header > 0)
        c->big_head = http_big_head(c->head, c->head_len,
                                    resp->big_header, &c->head_len);
    c->body_len = resp->head_only ? 0 : resp->body_len;
    c->sent = 0;
    c->close_after = !resp->keep_alive;
    c->fault = resp->fault;
    switch (resp->fault) {
    case FAULT_CLOSE:
        c->send_limit = 0;
        break;
    case FAULT_RESET:
    case FAULT_SHORT:
        c->send_limit = c->head_len + resp->body_before_fault;
        break;
    case FAULT_STALL:
    case FAULT_DRIP:
        c->send_limit = c->head_len;  /* DRIP: conn_fault adds a byte */
        break;
    case FAULT_NONE:
        c->send_limit = c->head_len + c->body_len;
        break;
    }

    if (resp->delayed)
        delay_us = response_delay_us(cs, c) + resp->extra_delay_us;
    if (delay_us > 0) {
        c->timer.due_us = monotonic_us() + delay_us;
        c->state = CONN_WAITING;
        deadline_add(&cs->timers, &c->timer);
    } else {
        c->state = CONN_WRITING;
    }
}

/* ====================== Faults ====================== */

/* The first c->send_limit bytes of a /fault/ response are sent: now
 * misbehave. STEP_FAILED closes the connection at once. */
static enum step conn_fault(struct conns *cs, struct conn *c)
{
    struct linger hard = { .l_onoff = 1, .l_linger = 0 };

    switch (c->fault) {
    case FAULT_CLOSE:
        c->tls_failed = true;  /* no close_notify: just the FIN */
        return STEP_FAILED;
    case FAULT_RESET:
        /* linger on, timeout 0: close() sends a RST, not a FIN */
        c->tls_failed = true;
        if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &hard,
                       sizeof(hard)) != 0)
            log_line("setsockopt SO_LINGER fd %d: %s", c->fd,
                     strerror(errno));
        return STEP_FAILED;
    case FAULT_SHORT:
        c->tls_failed = true;  /* the body ends in a bare FIN */
        return conn_linger_start(cs, c);
    case FAULT_STALL:
        /* costs one fd and one entry in the list: no timer, no idle
         * timeout; we only watch for the client to go away */
        c->state = CONN_STALLED;
        c->wait_events = EPOLLIN;
        c->socket_drained = false;
        idle_remove(cs, c);
        return STEP_DONE;
    case FAULT_DRIP:
        if (c->sent >= c->head_len + c->body_len) {
            c->fault = FAULT_NONE;  /* all dripped: end as usual */
            return STEP_DONE;
        }
        c->send_limit = c->sent + 1;  /* one more byte, a second on */
        c->timer.due_us = monotonic_us() + DRIP_US;
        c->state = CONN_WAITING;
        idle_remove(cs, c);
        deadline_add(&cs->timers, &c->timer);
        return STEP_AGAIN;
    case FAULT_NONE:
        break;
    }
    return STEP_DONE;
}

/* ====================== The state machine ====================== */

/* Tell epoll what the connection waits for, if that changed. */
static int conn_watch(struct conns *cs, struct conn *c)
{
    /* WAITING: no events; errors and hangups are reported anyway */
    uint32_t events = c->state == CONN_WAITING ? 0 : c->wait_events;
    struct epoll_event ev = { .events = events,
                              .data.u64 = conn_key(c->fd, c->id) };

    if (events == c->epoll_events)
        return 0;
    if (epoll_ctl(cs->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        log_line("epoll_ctl MOD fd %d: %s", c->fd, strerror(errno));
        return -1;
    }
    c->epoll_events = events;
    return 0;
}

/* Take a complete request from c->in, or read more of one.
 * STEP_DONE means "the state may have changed: look again". */
static enum step conn_next_request(struct conns *cs, struct conn *c)
{
    size_t head_len;

    if (http_head_complete(c->in, c->in_len, &head_len)) {
        int64_t arrival = monotonic_us();
        http_handle(cs->config, c->ssl != NULL, c->in, head_len,
                    &c->response);
        conn_respond(cs, c, arrival);  /* -> WAITING or WRITING */
        /* drop the request; pipelined ones behind it stay */
        memmove(c->in, c->in + head_len, c->in_len - head_len);
        c->in_len -= head_len;
        if (c->state == CONN_WAITING)
            idle_remove(cs, c);  /* the timer will wake it */
        else
            idle_touch(cs, c);
        return STEP_DONE;
    }
    if (c->in_len == sizeof(c->in)) {
        http_error(431, &c->response);  /* 8 KiB, no end of head */
        conn_respond(cs, c, monotonic_us());
        c->in_len = 0;
        if (c->state == CONN_WAITING)
            idle_remove(cs, c);
        return STEP_DONE;
    }
    if (c->read_closed)
        return STEP_EOF;  /* nothing more will come */
    return conn_read(c);
}

/* Move the connection along until it has to wait, or close it. */
static void conn_run(struct conns *cs, struct conn *c)
{
    for (;;) {
        enum step step = STEP_AGAIN;

        switch (c->state) {
        case CONN_HANDSHAKE:
            step = tls_handshake(c);
            if (step == STEP_DONE)
                c->state = CONN_READING;
            break;
        case CONN_READING:
            step = conn_next_request(cs, c);
            break;
        case CONN_WAITING:
            step = STEP_AGAIN;  /* the timer will call us */
            break;
        case CONN_WRITING:
            step = conn_write(cs, c);
            if (step == STEP_DONE && c->fault != FAULT_NONE)
                step = conn_fault(cs, c);  /* may change the state */
            if (step != STEP_DONE || c->state != CONN_WRITING)
                break;
            if (c->in_flight) {
                c->in_flight = false;  /* sent in full */
                stats_request_done(&cs->stats, c->log_seq, monotonic_us(),
                                   c->fault == FAULT_NONE);
            }
            if (c->close_after)
                step = conn_linger_start(cs, c);  /* "Connection: close" */
            else
                c->state = CONN_READING;  /* keep-alive: next request */
            break;
        case CONN_CLOSING:
        case CONN_STALLED:
            step = conn_linger(c);
            break;
        }

        if (step == STEP_DONE)
            continue;
        if (step == STEP_AGAIN && conn_watch(cs, c) == 0)
            return;
        conn_close(cs, c);  /* EOF, failure, or epoll failed */
        return;
    }
}

/* epoll reported events on the connection's socket. */
static void conn_event(struct conns *cs, struct conn *c, uint32_t events)
{
    if (events & (EPOLLERR | EPOLLHUP)) {
        conn_close(cs, c);  /* reset by the client: nobody to answer */
        return;
    }
    if (events & EPOLLIN)
        c->socket_drained = false;
    conn_run(cs, c);
}

/* The connection's timer is due: send the delayed response, or stop
 * waiting for a closing client. */
static void conn_timer_fired(struct conns *cs, struct conn *c)
{
    deadline_remove(&cs->timers, &c->timer);
    if (c->state == CONN_CLOSING) {
        conn_close(cs, c);
        return;
    }
    c->state = CONN_WRITING;
    idle_touch(cs, c);
    conn_run(cs, c);
}

/* ====================== The connections ====================== */

int conns_init(struct conns *cs, int epfd, SSL_CTX *tls,
               const struct config *cfg, size_t fd_limit)
{
    memset(cs, 0, sizeof(*cs));
    cs->epfd = epfd;
    cs->tls = tls;
    cs->config = cfg;
    cs->fd_limit = fd_limit;
    cs->random_state = (uint64_t)monotonic_us() ^ ((uint64_t)getpid() << 32);
    if (cs->random_state == 0)
        cs->random_state = 1;  /* xorshift must not start at zero */
    cs->by_fd = calloc(fd_limit, sizeof(*cs->by_fd));
    if (cs->by_fd == NULL ||
        deadline_heap_init(&cs->timers, fd_limit) != 0 ||
        stats_init(&cs->stats, monotonic_us()) != 0) {
        conns_free(cs);
        return -1;
    }
    return 0;
}

void conns_free(struct conns *cs)
{
    while (cs->all != NULL)
        conn_close(cs, cs->all);
    stats_free(&cs->stats);
    deadline_heap_free(&cs->timers);
    free(cs->by_fd);
    cs->by_fd = NULL;
}

int conn_accepted(struct conns *cs, int fd, bool tls)
{
    struct conn *c = NULL;

    if ((size_t)fd < cs->fd_limit)
        c = conn_new(cs, fd, tls);
    if (c == NULL)
        return -1;
    conn_event(cs, c, EPOLLIN);  /* the request may be there already */
    return 0;
}

void conns_event(struct conns *cs, uint64_t key, uint32_t events)
{
    int fd = (int)(uint32_t)key;
    struct conn *c = fd >= 0 && (size_t)fd < cs->fd_limit ?
                     cs->by_fd[fd] : NULL;

    if (c != NULL && conn_key(c->fd, c->id) == key)
        conn_event(cs, c, events);
    /* else: its connection closed earlier in this batch */
}

/* The idle timeout is the same for all, so only the head of the idle
 * list (least recently active) can be due. */
void conns_expire(struct conns *cs, int64_t now)
{
    struct deadline *t;

    while ((t = deadline_first(&cs->timers)) != NULL && t->due_us <= now)
        conn_timer_fired(cs, (struct conn *)((char *)t -
                                             offsetof(struct conn, timer)));
    while (cs->idle_head != NULL &&
           cs->idle_head->active_at_us + IDLE_US <= now)
        conn_close(cs, cs->idle_head);
}

int64_t conns_next_deadline(const struct conns *cs)
{
    const struct deadline *first = deadline_first(&cs->timers);
    int64_t next = first != NULL ? first->due_us : INT64_MAX;

    if (cs->idle_head != NULL &&
        cs->idle_head->active_at_us + IDLE_US < next)
        next = cs->idle_head->active_at_us + IDLE_US;
    return next;
}
/* SPDX-License-Identifier: MIT */
