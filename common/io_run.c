/* io_run.c -- how every I/O lab's main() starts and ends (see io_run.h). */
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "http.h"
#include "interrupt.h"
#include "io_run.h"
#include "trace.h"

void io_run_start(const struct io_settings *settings,
                  struct site_list *sites)
{
    http_global_init();         /* first: a bad CONKIT_CA is exit 2 */
    sites_load(sites, settings->sites, settings->repeat);
    if (settings->trace != NULL)
        trace_open(settings->trace);
    sites_check_simulator(sites);
}

/* How many origins ("https://host:port") the list has, counting no
 * further than `most`. */
static long count_origins(const struct site_list *sites, long most)
{
    const char *seen[HTTP_MAX_CACHED + 1];
    size_t length[HTTP_MAX_CACHED + 1];
    long count = 0;

    for (size_t i = 0; i < sites->base_count && count < most; i++) {
        const char *url = sites->base[i], *host = strstr(url, "://");
        const char *path = strchr(host != NULL ? host + 3 : url, '/');
        size_t n = path != NULL ? (size_t)(path - url) : strlen(url);
        long k = 0;
        while (k < count && !(length[k] == n &&
                              strncmp(seen[k], url, n) == 0))
            k++;
        if (k == count) {
            seen[count] = url;
            length[count++] = n;
        }
    }
    return count;
}

long io_session_fds(const struct site_list *sites)
{
    long connections = count_origins(sites, HTTP_MAX_CACHED + 1);

    return connections * http_connection_fds() + HTTP_WAKE_FDS +
           HTTP_CA_FDS;
}

int io_run_finish(const struct timer *timer, struct site_list *sites,
                  size_t done, size_t failed, size_t bytes)
{
    size_t total = sites->count;

    interrupt_report(done + failed, total, "downloads");
    printf("Downloaded %zu of %zu sites, %zu bytes\n", done, total, bytes);
    timer_print(timer);

    http_global_cleanup();
    sites_free(sites);
    if (trace_close() != 0)
        return EXIT_WORK_FAILED;
    if (interrupt_requested())
        return interrupt_exit_status();         /* 130 or 143 */
    return failed == 0 ? 0 : EXIT_WORK_FAILED;
}
/* SPDX-License-Identifier: MIT */
