/* log.c -- sitesim's --log file: one line per event (start, stop,
 * problems), with the time and the pid. The file is this file's state;
 * it calls nothing else of sitesim.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static FILE *log_file;          /* --log FILE, or NULL: no log */

int log_open(const char *path)
{
    log_file = fopen(path, "a");
    if (log_file == NULL)
        return -1;
    setvbuf(log_file, NULL, _IOLBF, 0);
    return 0;
}

void log_close(void)
{
    if (log_file != NULL)
        fclose(log_file);
    log_file = NULL;
}

void log_line(const char *fmt, ...)
{
    char stamp[32];
    struct tm tm;
    time_t now = time(NULL);
    va_list ap;

    if (log_file == NULL)
        return;
    if (localtime_r(&now, &tm) == NULL ||
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
    fprintf(log_file, "%s sitesim[%d]: ", stamp, (int)getpid());
    va_start(ap, fmt);
    vfprintf(log_file, fmt, ap);
    va_end(ap);
    fputc('\n', log_file);  /* the file is line-buffered: this flushes */
}
/* SPDX-License-Identifier: MIT */
