/* options.h -- command-line helpers every conkit program shares.
 *
 * Each program parses its own options with getopt_long (so the options a
 * lab teaches stay visible in its file); these helpers turn an option's
 * text into a checked number, or stop with a one-line usage error:
 *
 *     option_long("--workers", "abc", 1, 1000)
 *     -> io_threads: --workers must be a whole number from 1 to 1000: 'abc'
 */
#ifndef CONKIT_OPTIONS_H
#define CONKIT_OPTIONS_H

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

#endif
