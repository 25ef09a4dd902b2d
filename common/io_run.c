/* io_run.c -- how every I/O lab's main() starts and ends (see io_run.h). */
#include <stdio.h>

#include "error.h"
#include "http.h"
#include "interrupt.h"
#include "io_run.h"
#include "trace.h"

void io_run_start(const struct io_settings *settings,
                  struct site_list *sites)
{
    sites_load(sites, settings->sites, settings->repeat);
    if (settings->trace != NULL)
        trace_open(settings->trace);
    sites_check_simulator(sites);
    http_global_init();
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
