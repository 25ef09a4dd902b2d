/* curl_loop.h -- libcurl's multi_socket interface driven by the kit's loop.
 *
 * libcurl's multi handle never blocks: it says, through two callbacks,
 * which sockets it waits for and when it next needs a timeout, and it
 * must be told (curl_multi_socket_action) when one of those is due.  This
 * file wires those callbacks to common/loop.h, so that one epoll loop
 * waits for every transfer at once, and reports each finished transfer:
 *
 *     epoll_wait --> fd ready --> curl_multi_socket_action(fd)   --+
 *         ^      --> timerfd  --> curl_multi_socket_action(TIMEOUT) |
 *         |                                                        v
 *         +---- socket/timer callbacks <-- libcurl -- info_read: done
 *
 * Two ways to use it.  labs/lab4/io_async.c turns the loop itself, in
 * its own file (the lesson there), and takes only the pieces at the end
 * of this header: a multi handle, a socket watched as libcurl asks, the
 * loop's mask in libcurl's bits, the next finished transfer.
 * labs/lab9/scrape_async.c, whose lesson is the tasks on top, takes the
 * whole wiring, built of the same pieces:
 *
 *     struct curl_loop *curl = curl_loop_create(loop, 100, on_done, state);
 *     curl_loop_add(curl, handle, transfer);    -- transfer: your struct
 *     loop_run(loop);          -- on_done(handle, result, transfer, state)
 *     curl_loop_free(curl);
 *
 * The multi handle is the "session": it keeps the pool of open
 * connections every transfer borrows from, as an aiohttp ClientSession
 * owns its connector.  One thread only; every curl_multi_* result
 * is checked, and a failure is fatal (it means a bug, not a bad site).
 */
#ifndef CONKIT_CURL_LOOP_H
#define CONKIT_CURL_LOOP_H

#include <curl/curl.h>

#include "loop.h"

struct curl_loop;

/* A transfer has ended: result is libcurl's verdict (CURLE_OK even for
 * HTTP 404; ask http_check()).  The handle has already left the multi
 * handle -- its connection is back in the pool -- and is now the
 * caller's to read and to curl_easy_cleanup().  transfer is the pointer
 * given to curl_loop_add().  Called from the loop, never from inside
 * libcurl, so it may add and remove transfers. */
typedef void curl_loop_done_proc(CURL *handle, CURLcode result,
                                 void *transfer, void *data);

/* A multi handle on loop, capped at max_connections open connections in
 * all (CURLMOPT_MAX_TOTAL_CONNECTIONS, like aiohttp's limit), calling
 * done(..., data) for each finished transfer.  Exits 1 if libcurl fails. */
struct curl_loop *curl_loop_create(struct loop *loop, long max_connections,
                                   curl_loop_done_proc *done, void *data);

/* Start a transfer.  It only records the wish: the connecting and sending
 * happen later, from the loop's callbacks. */
void curl_loop_add(struct curl_loop *curl, CURL *handle, void *transfer);

/* Drop a transfer that has not finished (cancel it): it is taken out of
 * the multi handle at once, mid-flight, and done() is never called for
 * it.  The handle is the caller's again. */
void curl_loop_remove(struct curl_loop *curl, CURL *handle);

/* Closes the pooled connections and frees the multi handle. */
void curl_loop_free(struct curl_loop *curl);

/* ====== The pieces, for a loop turned by hand ====== */

/* Stop with one line when a curl_multi_* call failed: with correct use
 * it never does, so it is a bug in the caller, not a bad site. */
void curl_loop_check(CURLMcode code, const char *what);

/* A multi handle capped at max_connections open connections in all
 * (CURLMOPT_MAX_TOTAL_CONNECTIONS and as many kept idle, like aiohttp's
 * limit, no cap per host), telling socket_change which sockets it waits
 * for and timer_change when it next needs a timeout, with data. */
CURLM *curl_loop_multi_new(long max_connections,
                           curl_socket_callback socket_change,
                           curl_multi_timer_callback timer_change,
                           void *data);

/* Do what libcurl asked of a CURLMOPT_SOCKETFUNCTION for fd: watch it on
 * loop for CURL_POLL_IN/OUT (proc may be NULL: the caller dispatches),
 * or stop watching it for CURL_POLL_REMOVE, which libcurl says before
 * it closes the socket -- so the fd leaves epoll while it exists. */
void curl_loop_watch(struct loop *loop, curl_socket_t fd, int what,
                     loop_fd_proc *proc, void *data);

/* The loop's mask (LOOP_*) as curl_multi_socket_action's bits
 * (CURL_CSELECT_*). */
int curl_loop_select_bits(int mask);

/* The next transfer libcurl has finished, taken out of the multi handle
 * (its connection back in the pool), or NULL when none is left: result
 * is libcurl's verdict, *transfer the handle's CURLOPT_PRIVATE. */
CURL *curl_loop_next_done(CURLM *multi, CURLcode *result, void **transfer);

#endif
/* SPDX-License-Identifier: MIT */
