/* io_options.h -- the command line every I/O lab shares.
 *
 * io_sync, io_threads, io_async and io_fork take the same options --
 * --sites, --repeat, --timeout, --no-session, --trace, -q, -h -- plus at
 * most one knob of their own that says how many downloads run at once
 * (--workers, --max-conns).  Each program describes itself in a struct
 * io_program and gets its settings back:
 *
 *     static const struct io_program program = {
 *         .name = "io_threads",
 *         .summary = "Download every site on a pool of threads.",
 *         .knob = "workers", .knob_help = "number of threads",
 *         .knob_default = 5, .knob_max = 1000,
 *     };
 *     struct io_settings settings;
 *     io_parse_options(argc, argv, &program, &settings);
 *
 * Bad usage ends the program with one line and exit status 2.
 */
#ifndef CONKIT_IO_OPTIONS_H
#define CONKIT_IO_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>

struct io_program {
    const char *name;           /* "io_threads", for the usage line */
    const char *summary;        /* what it does, one line of --help */
    const char *knob;           /* "workers", "max-conns", or NULL */
    const char *knob_help;      /* what the knob sets, for --help */
    long knob_default;          /* the knob's value when not given */
    long knob_max;              /* the largest value it accepts (min 1) */
    const char *epilogue;       /* more --help text at the end, or NULL */
    long default_repeat;        /* --repeat for local/internet (0: 50) */
    const char *trace_rows;     /* --help: what a trace row is (NULL:
                                   "one CSV row per download") */
    /* A program with more options than the knob (lab 10's mixed) lists
     * their getopt_long rows (at most IO_MAX_EXTRA, their val not one of
     * the shared options' letters), their --help lines, and the function
     * that reads one; extra_data is handed to it (mixed makes its rows
     * from a table of rules: option_rules_rows(), option_rules_apply()). */
    const struct option *extra_options;
    const char *extra_usage;
    void (*extra_option)(int c, const char *value, void *extra_data);
    void *extra_data;
};

#define IO_MAX_EXTRA 8          /* rows in io_program.extra_options */

struct io_settings {
    const char *sites;          /* --sites: local, internet or a file */
    long repeat;                /* --repeat: -1 means the list's default */
    long concurrency;           /* the knob: downloads at once (0: none) */
    double timeout;             /* --timeout: seconds per download, 0 none */
    bool no_session;            /* --no-session: new handle per download */
    bool quiet;                 /* --quiet: summary lines only */
    const char *trace;          /* --trace: CSV file, or NULL */
};

void io_parse_options(int argc, char *argv[],
                      const struct io_program *program,
                      struct io_settings *settings);

#endif
/* SPDX-License-Identifier: MIT */
