/* options.h -- command-line helpers every conkit program shares.
 *
 * How the kit parses its command lines, in one place:
 *
 *   - Each program lists its own options as a table of rules in its own
 *     file, so the options a lab teaches stay visible there: name, kind
 *     of value, where it goes, what range it may take.  The four I/O labs
 *     (io_sync, io_threads, io_async, io_fork) and lab 10's mixed, whose
 *     options are alike but for one knob, share common/io_options.c,
 *     which takes the few more of a program's own as getopt_long rows and
 *     a function (io_threads' --gil and --hold-gil: the last one given
 *     wins); mixed makes both from its table of rules with
 *     option_rules_rows() and option_rules_apply().  Lab 6's four programs
 *     share --work, --jobs and --n (jobs_parse_options() in
 *     labs/lab6/lib/jobs.c), and lab 9's three scrapers their whole
 *     command line (labs/lab9/lib/scrape.c).  The site simulator is no lab
 *     program: scripts/sitesim/config.c reads its options with
 *     getopt_long itself, and checks their numbers with option_long().
 *   - option_parse_rules() reads a table of rules, plus the options every
 *     program takes (--trace, --color, --quiet, --help): it prints the
 *     usage for -h, and reports anything unknown and any operand:
 *
 *         const struct option_rule rules[] = {
 *             OPTION_WHOLE("steps", &settings->steps, 1, MAX_STEPS),
 *             OPTION_CHOICE("only", &settings->only, model_names),
 *             OPTION_END,
 *         };
 *         option_parse_rules(argc, argv, rules, usage,
 *                            &settings->quiet, &settings->trace);
 *
 * A value outside its rule stops the program with a one-line usage error
 * (exit 2), as the helpers below do for one value:
 *
 *     option_long("--workers", "abc", 1, 1000)
 *     -> io_threads: --workers must be a whole number from 1 to 1000: 'abc'
 */
#ifndef CONKIT_OPTIONS_H
#define CONKIT_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

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

/* What a rule's option takes, and so what its `to` points at. */
enum option_kind {
    OPTION_KIND_WHOLE,          /* --name N: a long in [min, max] */
    OPTION_KIND_NUMBER,         /* --name X: a double in [low, high] */
    OPTION_KIND_CHOICE,         /* --name WORD: WORD's index in choices,
                                   into an int or an enum */
    OPTION_KIND_FLAG,           /* --name: sets a bool */
    OPTION_KIND_TEXT,           /* --name TEXT: a const char *, as given */
};

/* One option of a program's own.  Write the rows with the macros below,
 * which check that `to` points at the type its kind fills in. */
struct option_rule {
    const char *name;           /* the long option, without "--" */
    enum option_kind kind;      /* what its value is */
    void *to;                   /* where the value goes */
    size_t size;                /* sizeof *to: an enum must be an int's */
    long min, max;              /* OPTION_KIND_WHOLE: the range */
    double low, high;           /* OPTION_KIND_NUMBER: the range */
    const char *const *choices; /* OPTION_KIND_CHOICE: NULL-terminated */
};

/* (1 ? to : (long *)0) is `to` itself; the compiler refuses it if `to`
 * is not a long * (pointer type mismatch), which a void * would hide. */
#define OPTION_WHOLE(option, where, lo, hi)                             \
    { .name = (option), .kind = OPTION_KIND_WHOLE,                      \
      .to = 1 ? (where) : (long *)0, .size = sizeof *(where),           \
      .min = (lo), .max = (hi) }
#define OPTION_NUMBER(option, where, lo, hi)                            \
    { .name = (option), .kind = OPTION_KIND_NUMBER,                     \
      .to = 1 ? (where) : (double *)0, .size = sizeof *(where),         \
      .low = (lo), .high = (hi) }
#define OPTION_CHOICE(option, where, names)                             \
    { .name = (option), .kind = OPTION_KIND_CHOICE, .to = (where),      \
      .size = sizeof *(where), .choices = (names) }
#define OPTION_FLAG(option, where)                                      \
    { .name = (option), .kind = OPTION_KIND_FLAG,                       \
      .to = 1 ? (where) : (bool *)0, .size = sizeof *(where) }
#define OPTION_TEXT(option, where)                                      \
    { .name = (option), .kind = OPTION_KIND_TEXT,                       \
      .to = 1 ? (where) : (const char **)0, .size = sizeof *(where) }
#define OPTION_END { .name = NULL }

#define OPTION_MAX_RULES 16     /* rows in one table, OPTION_END aside */

/* getopt_long's val for rules[i]: above every letter, so that a table of
 * rules never collides with the letters of the options around it. */
#define OPTION_RULE_VAL(i) (256 + (int)(i))

/* Append rules' rows to a getopt_long table that has *rows rows and room
 * for `room` (the end row included). */
void option_rules_rows(const struct option_rule rules[],
                       struct option options[], size_t *rows, size_t room);

/* Read option c (val OPTION_RULE_VAL(i)) with its value into rules[i]'s
 * `to`: true when c is one of rules', false if not (exit 2 for a value
 * outside the rule). */
bool option_rules_apply(const struct option_rule rules[], int c,
                        const char *value);

/* Read argv with the rules, then COMMON_LONG_OPTIONS and the short
 * options -q and -h, getopt's own messages off: -h prints usage() and
 * exits 0; --trace FILE goes into *trace, --color WHEN into color.h's
 * mode, -q into *quiet (quiet may be NULL: a program whose output is
 * already short accepts -q and ignores it).  An unknown option, a
 * missing value, a value outside its rule or an operand: one line, exit
 * 2. */
void option_parse_rules(int argc, char *argv[],
                        const struct option_rule rules[],
                        void (*usage)(void), bool *quiet,
                        const char **trace);

/* For a table of options that is not made of rules (io_options.c): read
 * option c (its value in value, NULL for a flag) into data and return
 * true, or return false: not its own. */
typedef bool option_proc(int c, const char *value, void *data);

/* option_parse_rules() with a getopt_long table (its own rows, then
 * COMMON_LONG_OPTIONS) and a function own(c, value, data) that reads its
 * own options first (own may be NULL). */
void option_parse(int argc, char *argv[], const struct option *options,
                  option_proc *own, void *data, void (*usage)(void),
                  bool *quiet, const char **trace);

#endif
/* SPDX-License-Identifier: MIT */
