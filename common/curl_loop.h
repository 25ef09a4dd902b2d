/* curl_loop.h -- libcurl's multi_socket interface driven by the kit's loop.
 *
 * libcurl's multi handle never blocks: it says, through two callbacks,
 * which sockets it waits for and when it next needs a timeout, and it
 * must be told (curl_multi_socket_action) when one of those is due.  This
 * file wires those callbacks to common/loop.h, so that one epoll loop
 * waits for every transfer at once, and reports each finished transfer:
 *
 * labs/lab4/io_async.c writes this wiring out in its own file, with the
 * loop's turn; this file packages it for labs/lab9/scrape_async.c, whose
 * lesson is the tasks on top:
 *
 *     epoll_wait --> fd ready --> curl_multi_socket_action(fd)   --+
 *         ^      --> timerfd  --> curl_multi_socket_action(TIMEOUT) |
 *         |                                                        v
 *         +---- socket/timer callbacks <-- libcurl -- info_read: done
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

/* Transfers added and not yet finished or removed. */
long curl_loop_running(const struct curl_loop *curl);

/* Closes the pooled connections and frees the multi handle. */
void curl_loop_free(struct curl_loop *curl);

#endif
