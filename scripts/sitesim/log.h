/* log.h -- sitesim's --log file: one line per event (start, stop,
 * problems). A leaf: it includes nothing of sitesim, so every file may
 * write a line.
 */
#ifndef SITESIM_LOG_H
#define SITESIM_LOG_H

/* Open FILE for appending, line-buffered. 0, or -1 (errno set). */
int log_open(const char *path);

/* Close the file log_open() opened, if any. */
void log_close(void);

/* One line in the --log file, if there is one:
 *   2024-05-01T10:00:00 sitesim[1234]: started ... */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
/* SPDX-License-Identifier: MIT */
