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
 *     (--trace, --color, --quiet, --help) in its getopt_long table, reads
 *     it with option_next() (getopt_long, its own messages off), handles
 *     -h itself (it prints its own usage) and hands everything
 *     else its switch does not know to option_common(), which sets
 *     --trace, --color and --quiet and reports anything unknown:
 *
 *         while ((c = option_next(argc, argv, options)) != -1) {
 *             switch (c) {
 *             case 's': ... its own options ...
 *             case 'h': usage(); exit(0);
 *             default: option_common(c, optarg, &settings->quiet,
 *                                    &settings->trace, argv);
 *             }
 *         }
 *         option_no_operands(argc, argv);
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

/* Report an unknown option or missing argument the way getopt_long saw it
 * (call from the '?' and ':' cases; opterr must be 0).  Exits 2. */
void option_unknown(char *const argv[]) __attribute__((noreturn));

/* Exit 2 if argv has operands left after the options. */
void option_no_operands(int argc, char *const argv[]);

/* ====== The options every program takes ====== */

/* Rows of every getopt_long table, after the program's own. */
#define COMMON_LONG_OPTIONS                                             \
    { "trace", required_argument, NULL, 'T' },                          \
    { "color", required_argument, NULL, 'C' },                          \
    { "quiet", no_argument, NULL, 'q' },                                \
    { "help", no_argument, NULL, 'h' }

/* The next option in argv: getopt_long() with the short options -q and
 * -h, and getopt's own messages off (opterr = 0) -- option_common() says
 * what is wrong the kit's way.  -1 when there are no more options. */
int option_next(int argc, char *argv[], const struct option *options);

/* Call from the default branch of the option switch: --trace FILE into
 * *trace, --color WHEN into color.h's mode, -q into *quiet (quiet may be
 * NULL: a program whose output is already short accepts -q and ignores
 * it).  Any other c is an unknown option or a missing value: one line,
 * exit 2. */
void option_common(int c, const char *value, bool *quiet,
                   const char **trace, char *const argv[]);

#endif
/* SPDX-License-Identifier: MIT */
