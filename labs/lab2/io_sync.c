/* io_sync.c -- download every site, one after another, on one session.
 *
 * The baseline of the I/O labs: no concurrency at all.  One libcurl easy
 * handle is made once and reused for every download -- the "session".  A
 * reused handle keeps its connection to each host open (HTTP keep-alive),
 * so only the first download from a host pays for connecting and for the
 * TLS handshake.
 *
 * Run:    make lab2 && ./io_sync
 *         ./io_sync --no-session      (a new handle for every download)
 *
 * Watch:  the total time is about (number of downloads) x (latency): the
 *         program spends nearly all of it waiting for the network, with
 *         the CPU idle.  That waiting is what the next labs overlap.
 *
 * Ctrl-C:  the download in flight is abandoned within a second (libcurl's
 *         progress callback, set up in common/http.c, asks
 *         interrupt_requested()); every download not finished is traced
 *         `cancelled`; the summary is printed; the exit status is 130.
 *
 * Compare with labs/lab3/io_threads.c, which runs the same downloads on
 * several threads.
 */
#include <string.h>

#include "error.h"
#include "fd_limit.h"
#include "http.h"
#include "interrupt.h"
#include "io_options.h"
#include "io_run.h"
#include "sites.h"
#include "timer.h"
#include "trace.h"

struct totals {
    size_t done;                /* downloads that succeeded */
    size_t failed;              /* downloads that failed */
    size_t bytes;               /* body bytes of the successful ones */
};

static const struct io_program program = {
    .name = "io_sync",
    .summary = "Download every site in turn on one reused libcurl handle.",
};

/* Download one URL on the given handle and say how it went: "ok",
 * "failed" (said on stderr) or "cancelled" (interrupted). */
static const char *download_site(CURL *session, const char *url,
                                 size_t *bytes)
{
    *bytes = 0;
    curl_easy_setopt(session, CURLOPT_URL, url);
    curl_easy_setopt(session, CURLOPT_WRITEDATA, bytes);
    CURLcode result = curl_easy_perform(session);   /* blocks: we wait */
    if (http_cancelled(result))
        return "cancelled";
    return http_check(session, result, url) == 0 ? "ok" : "failed";
}

static void download_all_sites(const struct io_settings *settings,
                               const struct site_list *sites,
                               struct totals *totals)
{
    /* TASK lab2.session: the session -- one handle, made once, reused
     * for every download (unless --no-session), so each host's
     * connection stays open.  The handout makes none here, and a new
     * handle for every download below:
     *     CURL *session = NULL;
     */
    CURL *session = settings->no_session
                        ? NULL : http_easy_new(settings->timeout);
    /* END TASK lab2.session */

    size_t i;
    for (i = 0; i < sites->count && !interrupt_requested(); i++) {
        const char *url = sites->urls[i];
        CURL *handle = session;
        size_t bytes;

        if (handle == NULL)
            handle = http_easy_new(settings->timeout);  /* no reuse */

        int64_t start = program_us();
        const char *status = download_site(handle, url, &bytes);
        trace_record((long)i, 0, url, start, program_us(), status);
        if (strcmp(status, "ok") == 0) {
            totals->done++;
            totals->bytes += bytes;
            if (!settings->quiet)
                print_worker_line(0, "Read %zu bytes from %s", bytes, url);
        } else if (strcmp(status, "failed") == 0) {
            totals->failed++;
        }       /* else "cancelled": neither done nor failed */

        if (handle != session)
            curl_easy_cleanup(handle);  /* closes its connection too */
    }
    if (session != NULL)
        curl_easy_cleanup(session);     /* always cleanup */

    /* interrupted: the downloads never started are cancelled too */
    for (; i < sites->count; i++) {
        int64_t now = program_us();
        trace_record((long)i, 0, sites->urls[i], now, now, "cancelled");
    }
}

int main(int argc, char *argv[])
{
    struct io_settings settings;
    struct site_list sites;
    struct totals totals = { 0 };
    struct timer timer;

    error_init(argv[0]);
    interrupt_install();
    io_parse_options(argc, argv, &program, &settings);
    io_run_start(&settings, &sites);
    fd_limit_fit(1, io_session_fds(&sites), 0, NULL);  /* room for one? */

    timer_start(&timer);
    download_all_sites(&settings, &sites, &totals);
    return io_run_finish(&timer, &sites, totals.done, totals.failed,
                         totals.bytes);
}
/* SPDX-License-Identifier: MIT */
