/* error.h -- one-line error reporting shared by every conkit program.
 *
 * Every message is one line on stderr, in the house form
 *
 *     io_sync: cannot open sites file: 'nope.txt'
 *
 * and is written with a single write(2), so lines from several threads or
 * processes never tear into each other.  On a terminal (color.h) error
 * lines are red and print_worker_line() gives each worker its colour.
 */
#ifndef CONKIT_ERROR_H
#define CONKIT_ERROR_H

#define EXIT_WORK_FAILED 1      /* some unit of work failed, the rest done */
#define EXIT_USAGE 2            /* bad command line: nothing was done */

/* The program's short name ("io_sync"), set by error_init(argv[0]). */
extern const char *program_name;

void error_init(const char *argv0);

/* Print "prog: <message>" on stderr.  Thread- and fork-safe. */
void error_report(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* Print "prog: <message>" and exit(EXIT_USAGE). */
void error_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Print "prog: <message>" and exit(1): for failures nothing can recover. */
void error_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Print "prog: <what>: <strerror(errnum)>" and exit(1).  pthread calls
 * return their error number instead of setting errno; pass it here. */
void error_fatal_errno(int errnum, const char *what)
    __attribute__((noreturn));

/* Write a whole line to stdout with one write(2), appending '\n'.
 * Used for per-item output that several workers print at once. */
void print_line(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* print_line() in worker's own colour on a terminal (color.h): each
 * worker's lines stand out from the others'. */
void print_worker_line(long worker, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
/* SPDX-License-Identifier: MIT */
