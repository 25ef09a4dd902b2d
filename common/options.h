/* options.h -- command-line helpers every conkit program shares.
 *
 * How the kit parses its command lines, in one place:
 *
 *   - Each program parses its own options with getopt_long in its own
 *     file, so the options a lab teaches stay visible there -- except the
 *     four I/O labs (io_sync, io_threads, io_async, io_fork) and lab 10's
 *     mixed, whose options are alike but for one knob: common/io_options.c
 *     parses theirs, and a table of their own few more (io_threads' --gil,
 *     mixed's --model) as the struct io_program's extra_options.  Lab 6's four programs also share --work, --jobs and --n
 *     (labs/lab6/lib/jobs.h), and lab 9's three scrapers their whole
 *     command line (labs/lab9/lib/scrape.c).  The site simulator is no
 *     lab program: scripts/sitesim/config.c reads its options with
 *     getopt_long itself, and checks their numbers with option_long().
 *   - Every program, io_options.c included, puts COMMON_LONG_OPTIONS
 *     (--trace, --color, --quiet, --help) in its getopt_long table and
 *     hands it to option_parse() with a function that reads one option
 *     of its own (and returns false for any other); option_parse() prints
 *     the usage for -h, sets --trace, --color and --quiet, and reports
 *     anything unknown and any operand:
 *
 *         static bool bank_option(int c, const char *value, void *data)
 *         {
 *             struct settings *settings = data;
 *             switch (c) {
 *             case 's': ... its own options ...
 *             default: return false;
 *             }
 *             return true;
 *         }
 *         option_parse(argc, argv, options, bank_option, settings,
 *                      usage, &settings->quiet, &settings->trace);
 *
 * The helpers below turn an option's text into a checked number, or stop
 * with a one-line usage error (exit 2):
 *
 *     option_long("--workers", "abc", 1, 1000)
 *     -> io_threads: --workers must be a whole number from 1 to 1000: 'abc'
 */
#ifndef CONKIT_OPTIONS_H
#define CONKIT_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>

/* The value of a whole-number option in [min, max]; exits 2 if not. */
long option_long(const char *option, const char *text, long min, long max);

/* The value of a decimal option in [min, max]; exits 2 if not. */
double option_double(const char *option, const char *text,
                     double min, double max);

/* Index of text in the NULL-terminated choices; exits 2 if absent:
 *     option_choice("--lock", "spin", (const char *[]){"none", "mutex",
 *                   NULL})
 *     -> race_condition: --lock must be one of none, mutex: 'spin' */
int option_choice(const char *option, const char *text,
                  const char *const choices[]);

/* ====== The options every program takes ====== */

/* Rows of every getopt_long table, after the program's own. */
#define COMMON_LONG_OPTIONS                                             \
    { "trace", required_argument, NULL, 'T' },                          \
    { "color", required_argument, NULL, 'C' },                          \
    { "quiet", no_argument, NULL, 'q' },                                \
    { "help", no_argument, NULL, 'h' }

/* A program's own options: read option c (its value in value, NULL for
 * a flag) into data and return true, or return false: not its own. */
typedef bool option_proc(int c, const char *value, void *data);

/* Read argv with the getopt_long table options (its own rows, then
 * COMMON_LONG_OPTIONS), short options -q and -h, getopt's own messages
 * off.  Each option goes to own(c, value, data) first (own may be NULL);
 * -h prints usage() and exits 0; --trace FILE goes into *trace, --color
 * WHEN into color.h's mode, -q into *quiet (quiet may be NULL: a program
 * whose output is already short accepts -q and ignores it).  An unknown
 * option, a missing value or an operand: one line, exit 2. */
void option_parse(int argc, char *argv[], const struct option *options,
                  option_proc *own, void *data, void (*usage)(void),
                  bool *quiet, const char **trace);

#endif
/* SPDX-License-Identifier: MIT */
