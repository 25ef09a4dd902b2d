/* error.c -- one-line error reporting; see error.h. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "color.h"

const char *program_name = "conkit";

void error_init(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');

    program_name = slash ? slash + 1 : argv0;
}

/* Format "prefix message\n" into one buffer and write it in one call, so
 * that concurrent writers cannot interleave inside a line.  Long messages
 * are cut, never split.  color and its end (color.h; "" for none) go
 * around the text, inside the one write. */
static void write_line(int fd, const char *color, const char *prefix,
                       const char *fmt, va_list ap)
{
    char line[1024];
    const char *end = color[0] != '\0' ? color_end(fd) : "";
    /* the text may fill what the colour's end and '\n' leave free */
    int room = (int)(sizeof line - strlen(end) - 2);
    int len = 0;

    len += snprintf(line, room, "%s%s%s", color, prefix ? prefix : "",
                    prefix ? ": " : "");
    if (len > room - 1)
        len = room - 1;
    int n = vsnprintf(line + len, room - len, fmt, ap);
    if (n < 0)
        n = 0;
    len += n;
    if (len > room - 1)
        len = room - 1;
    memcpy(line + len, end, strlen(end));
    len += (int)strlen(end);
    line[len++] = '\n';

    const char *p = line;
    while (len > 0) {
        ssize_t written = write(fd, p, len);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return;             /* nowhere left to report it */
        }
        p += written;
        len -= (int)written;
    }
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    write_line(STDERR_FILENO, color_failure(STDERR_FILENO), program_name,
               fmt, ap);
    va_end(ap);
}

/* The end of error_usage() and error_fatal(): what was printed so far
 * first, then the message, then exit with status. */
static void __attribute__((noreturn)) report_and_exit(int status,
                                                      const char *fmt,
                                                      va_list ap)
{
    fflush(stdout);
    write_line(STDERR_FILENO, color_failure(STDERR_FILENO), program_name,
               fmt, ap);
    exit(status);
}

void error_usage(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_and_exit(EXIT_USAGE, fmt, ap);      /* never returns */
}

void error_fatal(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    report_and_exit(EXIT_FAILURE, fmt, ap);    /* never returns */
}

void error_fatal_errno(int errnum, const char *what)
{
    error_fatal("%s: %s", what, strerror(errnum));
}

void print_line(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);             /* keep order with earlier stdio output */
    va_start(ap, fmt);
    write_line(STDOUT_FILENO, "", NULL, fmt, ap);
    va_end(ap);
}

void print_worker_line(long worker, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    va_start(ap, fmt);
    write_line(STDOUT_FILENO, color_worker(STDOUT_FILENO, worker), NULL,
               fmt, ap);
    va_end(ap);
}
/* SPDX-License-Identifier: MIT */
