/* options.c -- checked option values; see options.h. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "color.h"
#include "error.h"

long option_long(const char *option, const char *text, long min, long max)
{
    char *end;
    long value;

    errno = 0;
    value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min
        || value > max)
        error_usage("%s must be a whole number from %ld to %ld: '%s'",
                    option, min, max, text);
    return value;
}

double option_double(const char *option, const char *text,
                     double min, double max)
{
    char *end;
    double value;

    errno = 0;
    value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || isnan(value)
        || value < min || value > max)
        error_usage("%s must be a number from %g to %g: '%s'",
                    option, min, max, text);
    return value;
}

int option_choice(const char *option, const char *text,
                  const char *const choices[])
{
    char list[256] = "";
    size_t used = 0;

    for (int i = 0; choices[i] != NULL; i++) {
        if (strcmp(text, choices[i]) == 0)
            return i;
        int n = snprintf(list + used, sizeof list - used, "%s%s",
                         i ? ", " : "", choices[i]);
        if (n > 0 && (size_t)n < sizeof list - used)
            used += n;
    }
    error_usage("%s must be one of %s: '%s'", option, list, text);
}

/* Report an unknown option or missing argument the way getopt_long saw it
 * (opterr is 0).  Exits 2. */
static void __attribute__((noreturn)) option_unknown(char *const argv[])
{
    /* getopt_long leaves optind past the offending word */
    const char *word = argv[optind - 1];

    if (optopt != 0 && word[0] == '-' && word[1] != '-')
        error_usage("unknown option or missing value: '-%c'", optopt);
    error_usage("unknown option or missing value: '%s'", word);
}

/* Exit 2 if argv has operands left after the options. */
static void option_no_operands(int argc, char *const argv[])
{
    if (optind < argc)
        error_usage("unexpected argument: '%s'", argv[optind]);
}

static int option_next(int argc, char *argv[], const struct option *options)
{
    opterr = 0;
    /* ':' first: a missing value comes back as ':' (option_common()) */
    return getopt_long(argc, argv, ":qh", options, NULL);
}

static void option_common(int c, const char *value, bool *quiet,
                          const char **trace, char *const argv[])
{
    switch (c) {
    case 'T':
        *trace = value;
        break;
    case 'C':
        color_set_mode(option_choice("--color", value, color_modes));
        break;
    case 'q':
        if (quiet != NULL)
            *quiet = true;
        break;
    default:
        option_unknown(argv);
    }
}

void option_parse(int argc, char *argv[], const struct option *options,
                  option_proc *own, void *data, void (*usage)(void),
                  bool *quiet, const char **trace)
{
    int c;

    while ((c = option_next(argc, argv, options)) != -1) {
        if (own != NULL && own(c, optarg, data))
            continue;
        if (c == 'h') {
            usage();
            exit(0);
        }
        option_common(c, optarg, quiet, trace, argv);  /* or unknown */
    }
    option_no_operands(argc, argv);
}
/* SPDX-License-Identifier: MIT */
