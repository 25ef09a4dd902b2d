/* curl_loop.c -- the libcurl multi_socket callbacks, wired to common/loop.c.
 *
 * Three callbacks and one reader; see curl_loop.h for the picture:
 *
 *   on_socket_change   libcurl says what to wait for on a socket
 *                      -> loop_add_fd / loop_del_fd
 *   on_timer_change    libcurl says when it next needs a timeout
 *                      -> loop_add_timer / loop_del_timer
 *   on_socket_ready,   the loop saw a socket ready / the timeout due
 *   on_timeout         -> curl_multi_socket_action -> read_finished
 *   read_finished      curl_multi_info_read: which transfers ended
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

/* Stop with a clear line when a curl_multi_* call fails: with correct
 * use it never does, so it is a bug in the caller, not a bad site. */
static void check_multi(CURLMcode code, const char *what)
{
    if (code != CURLM_OK)
        error_fatal("%s: %s", what, curl_multi_strerror(code));
}

/* ====== Finished transfers ====== */

/* Ask libcurl which transfers have ended, and report each one.  The
 * result is read before the handle leaves the multi handle; leaving it
 * gives its connection back to the pool. */
static void read_finished(struct curl_loop *curl)
{
    CURLMsg *message;
    int messages_left;

    while ((message = curl_multi_info_read(curl->multi, &messages_left))) {
        if (message->msg != CURLMSG_DONE)
            continue;
        CURL *handle = message->easy_handle;
        CURLcode result = message->data.result;
        char *transfer = NULL;          /* CURLINFO_PRIVATE is a char * */
        curl_easy_getinfo(handle, CURLINFO_PRIVATE, &transfer);

        check_multi(curl_multi_remove_handle(curl->multi, handle),
                    "curl_multi_remove_handle");
        curl->running--;
        curl->done(handle, result, transfer, curl->done_data);
    }
}

/* ====== The loop calls libcurl ====== */

/* The loop saw a socket ready: tell libcurl which one and how. */
static void on_socket_ready(struct loop *loop, int fd, int mask, void *data)
{
    struct curl_loop *curl = data;
    int flags = 0, still_running;

    (void)loop;
    if (mask & LOOP_READABLE)
        flags |= CURL_CSELECT_IN;
    if (mask & LOOP_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    if (mask & LOOP_ERROR)
        flags |= CURL_CSELECT_ERR;
    check_multi(curl_multi_socket_action(curl->multi, fd, flags,
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
    check_multi(curl_multi_socket_action(curl->multi, CURL_SOCKET_TIMEOUT,
                                         0, &still_running),
                "curl_multi_socket_action");
    read_finished(curl);
    return LOOP_TIMER_DONE;     /* never repeats: libcurl asks again */
}

/* ====== libcurl tells the loop what to wait for ====== */

/* CURLMOPT_SOCKETFUNCTION: libcurl says what to wait for on a socket.
 * CURL_POLL_REMOVE comes before libcurl closes the socket, so the fd
 * leaves epoll while it still exists. */
static int on_socket_change(CURL *handle, curl_socket_t fd, int what,
                            void *data, void *socket_data)
{
    struct curl_loop *curl = data;
    int mask = LOOP_NONE;

    (void)handle;
    (void)socket_data;
    if (what == CURL_POLL_REMOVE) {
        loop_del_fd(curl->loop, fd);
        return 0;
    }
    if (what & CURL_POLL_IN)
        mask |= LOOP_READABLE;
    if (what & CURL_POLL_OUT)
        mask |= LOOP_WRITABLE;
    if (loop_add_fd(curl->loop, fd, mask, on_socket_ready, curl) == -1)
        error_fatal("epoll_ctl on socket %d: %s", fd, strerror(errno));
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
    curl->multi = curl_multi_init();
    if (curl->multi == NULL)
        error_fatal("curl_multi_init failed");
    check_multi(curl_multi_setopt(curl->multi, CURLMOPT_SOCKETFUNCTION,
                                  on_socket_change), "CURLMOPT_SOCKETFUNCTION");
    check_multi(curl_multi_setopt(curl->multi, CURLMOPT_SOCKETDATA, curl),
                "CURLMOPT_SOCKETDATA");
    check_multi(curl_multi_setopt(curl->multi, CURLMOPT_TIMERFUNCTION,
                                  on_timer_change), "CURLMOPT_TIMERFUNCTION");
    check_multi(curl_multi_setopt(curl->multi, CURLMOPT_TIMERDATA, curl),
                "CURLMOPT_TIMERDATA");
    /* the pool, capped like aiohttp's connector: so many in all, no cap
     * per host, and as many kept open when idle */
    check_multi(curl_multi_setopt(curl->multi,
                                  CURLMOPT_MAX_TOTAL_CONNECTIONS,
                                  max_connections),
                "CURLMOPT_MAX_TOTAL_CONNECTIONS");
    check_multi(curl_multi_setopt(curl->multi, CURLMOPT_MAXCONNECTS,
                                  max_connections), "CURLMOPT_MAXCONNECTS");
    return curl;
}

void curl_loop_add(struct curl_loop *curl, CURL *handle, void *transfer)
{
    curl_easy_setopt(handle, CURLOPT_PRIVATE, transfer);
    check_multi(curl_multi_add_handle(curl->multi, handle),
                "curl_multi_add_handle");
    curl->running++;
}

void curl_loop_remove(struct curl_loop *curl, CURL *handle)
{
    check_multi(curl_multi_remove_handle(curl->multi, handle),
                "curl_multi_remove_handle");
    curl->running--;
}

long curl_loop_running(const struct curl_loop *curl)
{
    return curl->running;
}

void curl_loop_free(struct curl_loop *curl)
{
    if (curl == NULL)
        return;
    /* closes the pooled connections: CURL_POLL_REMOVE for each socket
     * (so the loop must still exist) */
    check_multi(curl_multi_cleanup(curl->multi), "curl_multi_cleanup");
    if (curl->timer_id != 0)
        loop_del_timer(curl->loop, curl->timer_id);
    free(curl);
}
