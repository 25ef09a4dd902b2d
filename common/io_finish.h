/* io_finish.h -- how every I/O lab's main() ends: the summary, the
 * tidy-up and the exit status.
 *
 * io_sync, io_threads, io_async and io_fork differ in how they download;
 * once the downloads are over they all end the same way:
 *
 *     timer_start(&timer);
 *     download_all_sites(...);
 *     return io_finish(&timer, &sites, done, failed, bytes);
 *
 * which prints (after an interrupt, interrupt_report()'s line on stderr
 * first)
 *
 *     Downloaded 160 of 160 sites, 1113840 bytes
 *     Execution time: 1.23s
 */
#ifndef CONKIT_IO_FINISH_H
#define CONKIT_IO_FINISH_H

#include <stddef.h>

#include "sites.h"
#include "timer.h"

/* Print the summary of done + failed finished downloads of the list,
 * then the timer's line; clean up libcurl and the list and close the
 * trace.  Returns main()'s exit status: 1 when the trace could not be
 * written, else 130/143 after an interrupt, else 1 when a download
 * failed, else 0. */
int io_finish(const struct timer *timer, struct site_list *sites,
              size_t done, size_t failed, size_t bytes);

#endif
