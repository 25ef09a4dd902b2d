/* curl_loop.c -- libcurl's multi_socket interface on common/loop.c.
 *
 * First the pieces (curl_loop.h's end), then the whole wiring made of
 * them, for a program that lets loop_run() turn the loop:
 *
 *   on_socket_change   libcurl says what to wait for on a socket
 *                      -> curl_loop_watch: loop_add_fd / loop_del_fd
 *   on_timer_change    libcurl says when it next needs a timeout
 *                      -> loop_add_timer / loop_del_timer
 *   on_socket_ready,   the loop saw a socket ready / the timeout due
 *   on_timeout         -> curl_multi_socket_action -> read_finished
 *   read_finished      curl_loop_next_done: which transfers ended
 */
#include "curl_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

struct curl_loop {
    struct loop *loop;          /* the event loop everything waits in */
    CURLM *multi;               /* the session: transfers + connection pool */
    long timer_id;              /* libcurl's timeout on the loop, 0: none */
    long running;               /* added, not yet finished or removed */
    curl_loop_done_proc *done;  /* told about each finished transfer */
    void *done_data;            /* passed to done */
};

/* ====== The pieces ====== */

void curl_loop_check(CURLMcode code, const char *what)
{
    if (code != CURLM_OK)
        error_fatal("%s: %s", what, curl_multi_strerror(code));
}

CURLM *curl_loop_multi_new(long max_connections,
                           curl_socket_callback socket_change,
                           curl_multi_timer_callback timer_change,
                           void *data)
{
    CURLM *multi = curl_multi_init();

    if (multi == NULL)
        error_fatal("curl_multi_init failed");
    curl_loop_check(curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION,
                                      socket_change), "SOCKETFUNCTION");
    curl_loop_check(curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, data),
                    "SOCKETDATA");
    curl_loop_check(curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION,
                                      timer_change), "TIMERFUNCTION");
    curl_loop_check(curl_multi_setopt(multi, CURLMOPT_TIMERDATA, data),
                    "TIMERDATA");
    curl_loop_check(curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                                      max_connections),
                    "MAX_TOTAL_CONNECTIONS");
    curl_loop_check(curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS,
                                      max_connections), "MAXCONNECTS");
    return multi;
}

void curl_loop_watch(struct loop *loop, curl_socket_t fd, int what,
                     loop_fd_proc *proc, void *data)
{
    int mask = LOOP_NONE;

    if (what == CURL_POLL_REMOVE) {
        loop_del_fd(loop, fd);
        return;
    }
    if (what & CURL_POLL_IN)
        mask |= LOOP_READABLE;
    if (what & CURL_POLL_OUT)
        mask |= LOOP_WRITABLE;
    if (loop_add_fd(loop, fd, mask, proc, data) == -1)
        error_fatal("epoll_ctl on socket %d: %s", fd, strerror(errno));
}

int curl_loop_select_bits(int mask)
{
    int bits = 0;

    if (mask & LOOP_READABLE)
        bits |= CURL_CSELECT_IN;
    if (mask & LOOP_WRITABLE)
        bits |= CURL_CSELECT_OUT;
    if (mask & LOOP_ERROR)
        bits |= CURL_CSELECT_ERR;
    return bits;
}

CURL *curl_loop_next_done(CURLM *multi, CURLcode *result, void **transfer)
{
    CURLMsg *message;
    int messages_left;

    while ((message = curl_multi_info_read(multi, &messages_left)) != NULL) {
        if (message->msg != CURLMSG_DONE)
            continue;
        CURL *handle = message->easy_handle;
        char *private = NULL;           /* CURLINFO_PRIVATE is a char * */
        /* read the result before the handle leaves the multi handle */
        *result = message->data.result;
        curl_easy_getinfo(handle, CURLINFO_PRIVATE, &private);
        *transfer = private;
        curl_loop_check(curl_multi_remove_handle(multi, handle),
                        "curl_multi_remove_handle");
        return handle;
    }
    return NULL;
}

/* ====== The whole wiring, on loop_run() ====== */

/* Report every finished transfer to the user's done(). */
static void read_finished(struct curl_loop *curl)
{
    CURL *handle;
    CURLcode result;
    void *transfer;

    while ((handle = curl_loop_next_done(curl->multi, &result,
                                         &transfer)) != NULL) {
        curl->running--;
        curl->done(handle, result, transfer, curl->done_data);
    }
}

/* The loop saw a socket ready: tell libcurl which one and how. */
static void on_socket_ready(struct loop *loop, int fd, int mask, void *data)
{
    struct curl_loop *curl = data;
    int still_running;

    (void)loop;
    curl_loop_check(curl_multi_socket_action(curl->multi, fd,
                                             curl_loop_select_bits(mask),
                                             &still_running),
                    "curl_multi_socket_action");
    read_finished(curl);
}

/* libcurl's timeout is due: let it check its transfers' clocks. */
static int64_t on_timeout(struct loop *loop, long id, void *data)
{
    struct curl_loop *curl = data;
    int still_running;

    (void)loop;
    (void)id;
    curl->timer_id = 0;         /* fired: before libcurl sets a new one */
    curl_loop_check(curl_multi_socket_action(curl->multi,
                                             CURL_SOCKET_TIMEOUT, 0,
                                             &still_running),
                    "curl_multi_socket_action");
    read_finished(curl);
    return LOOP_TIMER_DONE;     /* never repeats: libcurl asks again */
}

/* CURLMOPT_SOCKETFUNCTION: libcurl says what to wait for on a socket. */
static int on_socket_change(CURL *handle, curl_socket_t fd, int what,
                            void *data, void *socket_data)
{
    struct curl_loop *curl = data;

    (void)handle;
    (void)socket_data;
    curl_loop_watch(curl->loop, fd, what, on_socket_ready, curl);
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: libcurl wants to be called after timeout_ms
 * (0: as soon as possible, -1: never mind).  It is one timer, replaced
 * on each call; libcurl must not be called back from in here, so even
 * 0 goes through the loop. */
static int on_timer_change(CURLM *multi, long timeout_ms, void *data)
{
    struct curl_loop *curl = data;

    (void)multi;
    if (curl->timer_id != 0) {
        loop_del_timer(curl->loop, curl->timer_id);
        curl->timer_id = 0;
    }
    if (timeout_ms >= 0)
        curl->timer_id = loop_add_timer(curl->loop,
                                        (int64_t)timeout_ms * 1000,
                                        on_timeout, curl);
    return 0;
}

/* ====== Making, adding, removing ====== */

struct curl_loop *curl_loop_create(struct loop *loop, long max_connections,
                                   curl_loop_done_proc *done, void *data)
{
    struct curl_loop *curl = calloc(1, sizeof *curl);

    if (curl == NULL)
        error_fatal("out of memory");
    curl->loop = loop;
    curl->done = done;
    curl->done_data = data;
    /* the pool, capped like aiohttp's connector */
    curl->multi = curl_loop_multi_new(max_connections, on_socket_change,
                                      on_timer_change, curl);
    return curl;
}

void curl_loop_add(struct curl_loop *curl, CURL *handle, void *transfer)
{
    curl_easy_setopt(handle, CURLOPT_PRIVATE, transfer);
    curl_loop_check(curl_multi_add_handle(curl->multi, handle),
                "curl_multi_add_handle");
    curl->running++;
}

void curl_loop_remove(struct curl_loop *curl, CURL *handle)
{
    curl_loop_check(curl_multi_remove_handle(curl->multi, handle),
                "curl_multi_remove_handle");
    curl->running--;
}

void curl_loop_free(struct curl_loop *curl)
{
    if (curl == NULL)
        return;
    /* closes the pooled connections: CURL_POLL_REMOVE for each socket
     * (so the loop must still exist) */
    curl_loop_check(curl_multi_cleanup(curl->multi), "curl_multi_cleanup");
    if (curl->timer_id != 0)
        loop_del_timer(curl->loop, curl->timer_id);
    free(curl);
}
/* SPDX-License-Identifier: MIT */
