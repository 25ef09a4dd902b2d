/* io_run.h -- how every I/O lab's main() starts and ends its run: the
 * list, the trace, libcurl; then the summary, the tidy-up, the exit
 * status.
 *
 * io_sync, io_threads, io_async and io_fork differ in how they download;
 * around the downloads they are the same:
 *
 *     io_parse_options(argc, argv, &program, &settings);
 *     io_run_start(&settings, &sites);
 *     timer_start(&timer);
 *     download_all_sites(...);
 *     return io_run_finish(&timer, &sites, done, failed, bytes);
 *
 * which ends with (after an interrupt, interrupt_report()'s line on
 * stderr first)
 *
 *     Downloaded 160 of 160 sites, 1113840 bytes
 *     Execution time: 1.23s
 */
#ifndef CONKIT_IO_RUN_H
#define CONKIT_IO_RUN_H

#include <stddef.h>

#include "io_options.h"
#include "sites.h"
#include "timer.h"

/* Load the --sites list (--repeat times), open the --trace file, check
 * that the simulator runs (for --sites local) and set up libcurl's global
 * state -- once, before any thread or child starts.  Exits 1 or 2 with
 * one line when any of it fails. */
void io_run_start(const struct io_settings *settings,
                  struct site_list *sites);

/* The file descriptors one session (an easy handle, used by one thread
 * or process at a time) can hold at once while it downloads the list:
 * the connections it keeps, one per origin of the list up to libcurl's
 * cache of HTTP_MAX_CACHED and one more while the cache is full, its
 * wake-up socketpair, and the CA files a handshake reads.  For
 * fd_limit_fit() (common/fd_limit.h). */
long io_session_fds(const struct site_list *sites);

/* Print the summary of done + failed finished downloads of the list,
 * then the timer's line; clean up libcurl and the list and close the
 * trace.  Returns main()'s exit status: 1 when the trace could not be
 * written, else 130/143 after an interrupt, else 1 when a download
 * failed, else 0. */
int io_run_finish(const struct timer *timer, struct site_list *sites,
                  size_t done, size_t failed, size_t bytes);

#endif
/* SPDX-License-Identifier: MIT */
