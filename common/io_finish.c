/* io_finish.c -- how every I/O lab's main() ends (see io_finish.h). */
#include <stdio.h>

#include "error.h"
#include "http.h"
#include "interrupt.h"
#include "io_finish.h"
#include "trace.h"

int io_finish(const struct timer *timer, struct site_list *sites,
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
