/* fd_limit.h -- fit a program's concurrency to its open-file limit.
 *
 * Every connection, pipe and epoll instance is a file descriptor, and a
 * process may hold only RLIMIT_NOFILE of them (ulimit -n).  Past it,
 * socket() and fopen() fail, and libcurl reports a download as "Couldn't
 * connect" or "Problem with the SSL CA cert": a failure that is not the
 * site's.  So each I/O program asks first how many of its connections,
 * threads or processes fit, from what each one really holds:
 *
 *     long each = http_session_fds(&sites);     -- one thread's session
 *     settings.concurrency = fd_limit_fit(settings.concurrency, each, 0,
 *                                         "--workers");
 *
 * and says once on stderr when it runs fewer than asked for:
 *
 *     io_threads: --workers 64 is more than the open-file limit allows
 *     (ulimit -Hn 40, 7 files for the program, 6 for each): using 5
 */
#ifndef CONKIT_FD_LIMIT_H
#define CONKIT_FD_LIMIT_H

/* Raise the soft open-file limit to the hard one, then return how many
 * of `wanted` units fit in it, when each unit holds `each` descriptors
 * and the program holds the ones open now plus `fixed` more.  When fewer
 * than wanted fit, says so once on stderr (`option`, e.g. "--workers",
 * names the knob; NULL: the program has none, and wanted is 1).  When not
 * even one fits, exits 1 with one line saying how many it needs. */
long fd_limit_fit(long wanted, long each, long fixed, const char *option);

#endif
/* SPDX-License-Identifier: MIT */
