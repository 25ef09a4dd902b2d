/* http.h -- libcurl plumbing shared by the I/O labs.
 *
 * The labs decide how handles are made, shared and reused (that is the
 * lesson); this file only sets every handle up the same way:
 *
 *   - TLS is always verified, against the system's CAs plus the site
 *     simulator's lab CA (so --sites local works with no extra step;
 *     VERIFYPEER and VERIFYHOST keep their defaults: on);
 *   - redirects are followed, to http and https only, as requests does;
 *   - CURLOPT_NOSIGNAL, so timeouts never use signals (thread-safe);
 *   - a progress callback that aborts the transfer once the user pressed
 *     Ctrl-C (interrupt_requested(), common/interrupt.h): the result is
 *     CURLE_ABORTED_BY_CALLBACK, which http_cancelled() recognises;
 *   - the timeout rounded up to whole milliseconds, never down to 0
 *     (libcurl's "no limit");
 *   - with http_loopback_only(), sockets to 127.0.0.1 only;
 *   - the body is counted, not stored: pass a size_t * as WRITEDATA.
 *
 * The lab CA is the file named by $CONKIT_CA, else $CONKIT_SIMDIR/ca.pem,
 * else .sitesim/ca.pem beside the program.  A $CONKIT_CA that cannot be
 * read is a usage error (exit 2); the other two may be missing (the
 * simulator has not made its CA yet).
 */
#ifndef CONKIT_HTTP_H
#define CONKIT_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

/* File descriptors, for fd_limit_fit() (common/fd_limit.h). */
#define HTTP_CA_FDS 1           /* a TLS handshake reads the lab CA file,
                                   then hashed system CAs, one at a time */
#define HTTP_WAKE_FDS 2         /* the socketpair a multi handle keeps to
                                   wake itself; an easy handle has its own */
#define HTTP_MAX_CACHED 5       /* connections an easy handle keeps open
                                   (CURLOPT_MAXCONNECTS' default) */

/* What one connection holds: its socket, and 2 more (the resolver
 * thread's socketpair) while a host name is looked up -- none for a list
 * all on 127.0.0.1 (http_loopback_only()).  Ask after sites_load(). */
long http_connection_fds(void);

/* curl_global_init() and the lab CA; call once, before any thread. */
void http_global_init(void);
void http_global_cleanup(void);

/* From now on every new handle opens sockets to 127.0.0.1 only, so a
 * redirect cannot lead off the machine (sites_load() calls it for a list
 * that is all on 127.0.0.1).  Call it before making handles. */
void http_loopback_only(void);

/* A new easy handle set up as above, with a per-transfer timeout in
 * seconds (0: none).  Exits 1 if libcurl cannot make one. */
CURL *http_easy_new(double timeout_seconds);

/* True when a transfer ended because the program was interrupted (the
 * progress callback aborted it): trace it `cancelled`, not `failed`. */
bool http_cancelled(CURLcode result);

/* What went wrong with a failed transfer (result != CURLE_OK), in words
 * a student can act on where libcurl's own would mislead: a refused
 * redirect, a header over libcurl's limit ("Out of memory" in 7.88).
 *     "redirect refused: 'file:///etc/hostname' is not http or https" */
void http_failure_text(CURL *handle, CURLcode result, const char *url,
                       char *text, size_t size);

/* Check a finished transfer.  Returns 0 when it succeeded with an HTTP
 * status below 400; otherwise writes one line to stderr,
 *     io_threads: https://127.0.0.1:8443/jython: HTTP 503
 * and returns -1.  A cancelled transfer (http_cancelled()) returns -1
 * with no line.  Thread-safe. */
int http_check(CURL *handle, CURLcode result, const char *url);

#endif
/* SPDX-License-Identifier: MIT */
