/* trace.h -- the --trace FILE writer: one CSV row per unit of work.
 *
 *     id,worker,label,start_us,end_us,status
 *     0,2,https://127.0.0.1:8443/jython,1520,54210,ok
 *
 * Times are microseconds since the program started (program_us()); worker
 * is a thread index, a ForkProcess number or a task id.  The report tools
 * draw timing diagrams from these rows.  trace_record() is thread-safe and
 * does nothing when no trace is open, so programs call it unconditionally.
 */
#ifndef CONKIT_TRACE_H
#define CONKIT_TRACE_H

#include <stdint.h>

/* Open FILE for writing and write the header; exits 2 if it cannot. */
void trace_open(const char *path);

void trace_record(long id, long worker, const char *label,
                  int64_t start_us, int64_t end_us, const char *status);

/* Flush and close; reports and returns -1 on a write error. */
int trace_close(void);

#endif
/* SPDX-License-Identifier: MIT */
