/* log.c -- sitesim's --log file: one line per event (start, stop,
 * problems), with the time and the pid. Calls nothing else of sitesim.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "sitesim.h"

/* One line in the --log file, if there is one:
 *   2024-05-01T10:00:00 sitesim[1234]: started ... */
void log_line(struct server *s, const char *fmt, ...)
{
    char stamp[32];
    struct tm tm;
    time_t now = time(NULL);
    va_list ap;

    if (s->log == NULL)
        return;
    if (localtime_r(&now, &tm) == NULL ||
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
    fprintf(s->log, "%s sitesim[%d]: ", stamp, (int)getpid());
    va_start(ap, fmt);
    vfprintf(s->log, fmt, ap);
    va_end(ap);
    fputc('\n', s->log);  /* the file is line-buffered: this flushes */
}
