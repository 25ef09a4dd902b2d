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
 *   - the body is counted, not stored: pass a size_t * as WRITEDATA.
 *
 * The lab CA is the file named by $CONKIT_CA, else $CONKIT_SIMDIR/ca.pem,
 * else .sitesim/ca.pem beside the program.
 */
#ifndef CONKIT_HTTP_H
#define CONKIT_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>

/* curl_global_init() and the lab CA; call once, before any thread. */
void http_global_init(void);
void http_global_cleanup(void);

/* A new easy handle set up as above, with a per-transfer timeout in
 * seconds (0: none).  Exits 1 if libcurl cannot make one. */
CURL *http_easy_new(double timeout_seconds);

/* The write callback http_easy_new() installs: adds the body's size to
 * the size_t that CURLOPT_WRITEDATA points at, and keeps nothing. */
size_t http_count_body(char *data, size_t size, size_t count, void *bytes);

/* Check a finished transfer.  Returns 0 when it succeeded with an HTTP
 * status below 400; otherwise writes one line to stderr,
 *     io_threads: https://127.0.0.1:8443/jython: HTTP 503
 * and returns -1.  Thread-safe. */
int http_check(CURL *handle, CURLcode result, const char *url);

#endif
