/* color.h -- colour on a terminal: each worker's lines in its own colour,
 * failures in red, and plain text everywhere else.
 *
 * Every program takes --color auto|always|never (auto when not given):
 *
 *     auto     colour only when the stream is a terminal and NO_COLOR is
 *              unset or empty (https://no-color.org), and TERM is not "dumb"
 *     always   colour even into a pipe or a file (for `less -R`)
 *     never    no escape codes at all
 *
 * so checks, pipes and files never see an escape code unless asked.  The
 * option is parsed with option_choice() from options.h:
 *
 *     case 'C':
 *         color_set_mode(option_choice("--color", optarg, color_modes));
 *
 * and lines are coloured through error.h's print_worker_line() (stdout)
 * and error_report() (stderr, red).  A program that prints with stdio
 * brackets the text itself:
 *
 *     printf("%slost=%ld%s\n", color_failure(STDOUT_FILENO), lost,
 *            color_end(STDOUT_FILENO));
 *
 * The mode is set once while the options are parsed, before any thread
 * starts; everything else only reads it, so any thread may call these.
 */
#ifndef CONKIT_COLOR_H
#define CONKIT_COLOR_H

#include <stdbool.h>

enum color_mode {
    COLOR_AUTO,                 /* colour on a terminal only (the default) */
    COLOR_ALWAYS,               /* colour whatever the stream is */
    COLOR_NEVER,                /* never colour */
};

/* The --color choices, in enum color_mode's order, NULL-terminated. */
extern const char *const color_modes[];

/* The help line every program prints for --color. */
#define COLOR_HELP \
    "  --color WHEN             colour per worker: auto (on a terminal),\n" \
    "                           always, never (auto; NO_COLOR respected)\n"

void color_set_mode(int mode);

/* The escape code that starts worker N's colour on fd, or "" when fd gets
 * no colour.  Six colours, never red, cycle over the workers. */
const char *color_worker(int fd, long worker);

/* The escape code for a failure (bold red) on fd, or "". */
const char *color_failure(int fd);

/* The escape code that ends a colour on fd, or "". */
const char *color_end(int fd);

#endif
/* SPDX-License-Identifier: MIT */
