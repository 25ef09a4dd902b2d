/* conn.c -- one client connection of sitesim, as a small state machine
 * driven by the epoll loop in sitesim.c (and listen.c, on accept).
 *
 * Every change of a connection's state happens in this file: http.c
 * only decides a response (struct response), and conn_respond() counts
 * it (stats.c), arms its delay (timers.c) and sends it. Calls go down
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
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>

#include "sitesim.h"

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

static void idle_remove(struct server *s, struct conn *c)
{
    if (c->idle_prev == NULL && s->idle_head != c)
        return;  /* not in the list */
    if (c->idle_prev != NULL)
        c->idle_prev->idle_next = c->idle_next;
    else
        s->idle_head = c->idle_next;
    if (c->idle_next != NULL)
        c->idle_next->idle_prev = c->idle_prev;
    else
        s->idle_tail = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
}

/* The connection made progress: move it to the tail of the list. */
static void idle_touch(struct server *s, struct conn *c)
{
    idle_remove(s, c);
    c->active_at_us = monotonic_us();
    c->idle_prev = s->idle_tail;
    if (s->idle_tail != NULL)
        s->idle_tail->idle_next = c;
    else
        s->idle_head = c;
    s->idle_tail = c;
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
    (void)SSL_shutdown(c->ssl);  /* non-blocking: best effort */
    ERR_clear_error();
}

/* Make a connection for an accepted socket and watch it for input.
 * Returns NULL (socket untouched) if that fails. */
struct conn *conn_new(struct server *s, int fd, bool tls)
{
    struct epoll_event ev = { .events = EPOLLIN };
    struct conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->fd = fd;
    c->id = ++s->conn_numbers;
    ev.data.u64 = epoll_key(fd, c->id);
    c->first_response = true;
    c->state = CONN_READING;
    c->wait_events = EPOLLIN;
    c->epoll_events = EPOLLIN;
    if (tls) {
        c->ssl = SSL_new(s->tls);
        if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1)
            goto out_free;
        SSL_set_accept_state(c->ssl);
        c->state = CONN_HANDSHAKE;
    }
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        goto out_free;

    /* link it in: the fd table, the list of all, the idle list */
    s->conn_by_fd[fd] = c;
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    s->conn_count++;
    idle_touch(s, c);
    return c;

out_free:
    SSL_free(c->ssl);  /* SSL_free(NULL) does nothing */
    ERR_clear_error();
    free(c);
    return NULL;
}

/* Close the socket and forget the connection. */
void conn_close(struct server *s, struct conn *c)
{
    if (c->ssl != NULL) {
        tls_goodbye(c);
        SSL_free(c->ssl);
        ERR_clear_error();
    }
    if (c->timer_armed)
        timer_remove(s, c);
    idle_remove(s, c);

    /* EPOLL_CTL_DEL before close(): a habit that matters once fds are
     * shared (dup, fork); here close() alone would also do */
    if (epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL) != 0)
        log_line(s, "epoll_ctl DEL fd %d: %s", c->fd, strerror(errno));
    if (close(c->fd) != 0 && errno != EINTR)
        log_line(s, "close fd %d: %s", c->fd, strerror(errno));

    /* the fd number may come back from accept() later in this same
     * batch of events: the loop tells them apart by c->id (epoll_key) */
    s->conn_by_fd[c->fd] = NULL;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->conn_count--;
    if (c->in_flight)
        stats_request_done(&s->stats, c->log_seq, monotonic_us());
    if (c->counted)
        stats_connection_closed(&s->stats);
    free(c->own_body);
    free(c->big_head);
    free(c->stream);
    free(c);
}

/* ====================== TLS ====================== */

/* Turn the result of SSL_accept/SSL_read/SSL_write into a step. */
static enum step tls_step(struct conn *c, int ret)
{
    switch (SSL_get_error(c->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        c->wait_events = EPOLLIN;
        return STEP_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        c->wait_events = EPOLLOUT;
        return STEP_AGAIN;
    case SSL_ERROR_ZERO_RETURN:     /* the client sent close_notify */
        return STEP_EOF;
    default:                        /* e.g. it does not trust our CA */
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
    return errno == EINTR ? STEP_DONE : STEP_FAILED;
}

/* A streamed body (/stats/log): the next piece, made from the log at
 * the connection's cursor once the last one is sent. NULL when the
 * whole body is sent; *n is the piece's unsent length. */
static const char *stream_piece(struct server *s, struct conn *c,
                                size_t *n)
{
    static char lines[SITESIM_STREAM_CHUNK - 16];  /* one thread: shared;
                                                     16: the framing */

    if (c->stream_sent == c->stream_len) {
        if (c->stream_ended)
            return NULL;
        size_t len = stats_log_lines(&s->stats, &c->stream_next,
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
 * SITESIM_WRITE_TURN bytes: one piece per turn of the loop, so a client
 * that reads a big body fast gets its turns like everyone else, and
 * epoll (level-triggered) brings us back while the socket is writable.
 * STEP_DONE once all is sent (or the first c->send_limit bytes, for a
 * fault). */
static enum step conn_write(struct server *s, struct conn *c)
{
    static char scratch[SITESIM_WRITE_TURN];  /* one thread: shared */
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
               (piece = stream_piece(s, c, &n)) == NULL) {
        return STEP_DONE;  /* all sent */
    }

    step = conn_send(c, piece, n, &sent);
    if (c->sent < total)
        c->sent += sent;
    else
        c->stream_sent += sent;
    if (sent > 0)
        idle_touch(s, c);  /* a slow reader is not an idle one */
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
static enum step conn_linger_start(struct server *s, struct conn *c)
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
    idle_remove(s, c);
    c->wake_at_us = monotonic_us() + SITESIM_LINGER_US;
    timer_add(s, c);
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
        if (n < 0 && errno != EINTR)
            return STEP_FAILED;
    }
    c->wait_events = EPOLLIN;
    return STEP_AGAIN;  /* still more: level-triggered epoll says so */
}

/* ====================== Responding ====================== */

/* The delay before a counted response: latency +/- jitter (never
 * below 0), plus the connection delay if it is the first response. */
static int64_t response_delay_us(struct server *s, struct conn *c)
{
    const struct config *cfg = &s->config;
    int64_t ms = cfg->latency_ms;

    if (cfg->jitter_ms > 0) {
        /* xorshift64*: small, seeded in main(), good enough for jitter */
        uint64_t x = s->random_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s->random_state = x;
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
static void request_count(struct server *s, struct conn *c,
                          int64_t arrival)
{
    if (!c->counted) {
        c->counted = true;
        stats_connection_counted(&s->stats, c->ssl != NULL);
    }
    c->log_seq = stats_request_begin(&s->stats, arrival, c->id,
                                     c->response.status,
                                     c->response.log_path);
    c->in_flight = true;
}

/* Carry out the response http.c decided (c->response) for a request
 * that arrived at `arrival`: stats, counting, the head, the fault, and
 * the delay. Leaves c in WAITING (timer armed) or WRITING. */
static void conn_respond(struct server *s, struct conn *c, int64_t arrival)
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

    if (resp->stats_page == STATS_RESET)
        stats_reset(&s->stats, arrival);
    if (resp->stats_page == STATS_LOG) {
        /* streamed: a cursor into the log and one piece's room, made
         * as the client reads (conn_write), never the whole log */
        stats_log_span(&s->stats, &c->stream_next, &c->stream_end);
        if (!resp->head_only) {
            c->stream = malloc(SITESIM_STREAM_CHUNK);
            if (c->stream == NULL)
                http_stats_body(resp, NULL, 0);  /* a 500 */
        }
    } else if (resp->stats_page != STATS_NONE) {
        c->own_body = stats_format(&s->stats, &s->config, &len);
        http_stats_body(resp, c->own_body, len);
    }
    if (resp->counted)
        request_count(s, c, arrival);

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
        delay_us = response_delay_us(s, c) + resp->extra_delay_us;
    if (delay_us > 0) {
        c->wake_at_us = monotonic_us() + delay_us;
        c->state = CONN_WAITING;
        timer_add(s, c);
    } else {
        c->state = CONN_WRITING;
    }
}

/* ====================== Faults ====================== */

/* The first c->send_limit bytes of a /fault/ response are sent: now
 * misbehave. STEP_FAILED closes the connection at once. */
static enum step conn_fault(struct server *s, struct conn *c)
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
            log_line(s, "setsockopt SO_LINGER fd %d: %s", c->fd,
                     strerror(errno));
        return STEP_FAILED;
    case FAULT_SHORT:
        c->tls_failed = true;  /* the body ends in a bare FIN */
        return conn_linger_start(s, c);
    case FAULT_STALL:
        /* costs one fd and one entry in the list: no timer, no idle
         * timeout; we only watch for the client to go away */
        c->state = CONN_STALLED;
        c->wait_events = EPOLLIN;
        c->socket_drained = false;
        idle_remove(s, c);
        return STEP_DONE;
    case FAULT_DRIP:
        if (c->sent >= c->head_len + c->body_len) {
            c->fault = FAULT_NONE;  /* all dripped: end as usual */
            return STEP_DONE;
        }
        c->send_limit = c->sent + 1;  /* one more byte, a second on */
        c->wake_at_us = monotonic_us() + SITESIM_DRIP_US;
        c->state = CONN_WAITING;
        idle_remove(s, c);
        timer_add(s, c);
        return STEP_AGAIN;
    case FAULT_NONE:
        break;
    }
    return STEP_DONE;
}

/* ====================== The state machine ====================== */

/* Tell epoll what the connection waits for, if that changed. */
static int conn_watch(struct server *s, struct conn *c)
{
    /* WAITING: no events; errors and hangups are reported anyway */
    uint32_t events = c->state == CONN_WAITING ? 0 : c->wait_events;
    struct epoll_event ev = { .events = events,
                              .data.u64 = epoll_key(c->fd, c->id) };

    if (events == c->epoll_events)
        return 0;
    if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        log_line(s, "epoll_ctl MOD fd %d: %s", c->fd, strerror(errno));
        return -1;
    }
    c->epoll_events = events;
    return 0;
}

/* Take a complete request from c->in, or read more of one.
 * STEP_DONE means "the state may have changed: look again". */
static enum step conn_next_request(struct server *s, struct conn *c)
{
    size_t head_len;

    if (http_head_complete(c->in, c->in_len, &head_len)) {
        int64_t arrival = monotonic_us();
        http_handle(&s->config, c->ssl != NULL, c->in, head_len,
                    &c->response);
        conn_respond(s, c, arrival);  /* -> WAITING or WRITING */
        /* drop the request; pipelined ones behind it stay */
        memmove(c->in, c->in + head_len, c->in_len - head_len);
        c->in_len -= head_len;
        if (c->state == CONN_WAITING)
            idle_remove(s, c);  /* the timer will wake it */
        else
            idle_touch(s, c);
        return STEP_DONE;
    }
    if (c->in_len == sizeof(c->in)) {
        http_error(431, &c->response);  /* 8 KiB, no end of head */
        conn_respond(s, c, monotonic_us());
        c->in_len = 0;
        if (c->state == CONN_WAITING)
            idle_remove(s, c);
        return STEP_DONE;
    }
    if (c->read_closed)
        return STEP_EOF;  /* nothing more will come */
    return conn_read(c);
}

/* Move the connection along until it has to wait, or close it. */
static void conn_run(struct server *s, struct conn *c)
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
            step = conn_next_request(s, c);
            break;
        case CONN_WAITING:
            step = STEP_AGAIN;  /* the timer will call us */
            break;
        case CONN_WRITING:
            step = conn_write(s, c);
            if (step == STEP_DONE && c->fault != FAULT_NONE)
                step = conn_fault(s, c);  /* may change the state */
            if (step != STEP_DONE || c->state != CONN_WRITING)
                break;
            if (c->in_flight) {
                c->in_flight = false;  /* sent in full */
                stats_request_done(&s->stats, c->log_seq, monotonic_us());
            }
            if (c->close_after)
                step = conn_linger_start(s, c);  /* "Connection: close" */
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
        if (step == STEP_AGAIN && conn_watch(s, c) == 0)
            return;
        conn_close(s, c);  /* EOF, failure, or epoll failed */
        return;
    }
}

/* epoll reported events on the connection's socket. */
void conn_event(struct server *s, struct conn *c, uint32_t events)
{
    if (events & (EPOLLERR | EPOLLHUP)) {
        conn_close(s, c);  /* reset by the client: nobody to answer */
        return;
    }
    if (events & EPOLLIN)
        c->socket_drained = false;
    conn_run(s, c);
}

/* The connection's timer is due: send the delayed response, or stop
 * waiting for a closing client. */
void conn_timer_fired(struct server *s, struct conn *c)
{
    timer_remove(s, c);
    if (c->state == CONN_CLOSING) {
        conn_close(s, c);
        return;
    }
    c->state = CONN_WRITING;
    idle_touch(s, c);
    conn_run(s, c);
}
