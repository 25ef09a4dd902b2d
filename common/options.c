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

/* ====== A table of rules ====== */

void option_rules_rows(const struct option_rule rules[],
                       struct option options[], size_t *rows, size_t room)
{
    for (size_t i = 0; rules != NULL && rules[i].name != NULL; i++) {
        if (*rows + 1 >= room || i >= OPTION_MAX_RULES)
            error_fatal("more options than the table has room for: '--%s'",
                        rules[i].name);
        options[(*rows)++] = (struct option){
            rules[i].name,
            rules[i].kind == OPTION_KIND_FLAG ? no_argument
                                              : required_argument,
            NULL, OPTION_RULE_VAL(i),
        };
    }
    options[*rows] = (struct option){ NULL, 0, NULL, 0 };
}

bool option_rules_apply(const struct option_rule rules[], int c,
                        const char *value)
{
    const struct option_rule *rule = NULL;
    char option[64];

    for (size_t i = 0; rules != NULL && rules[i].name != NULL; i++)
        if (OPTION_RULE_VAL(i) == c)
            rule = &rules[i];
    if (rule == NULL)
        return false;
    snprintf(option, sizeof option, "--%s", rule->name);
    switch (rule->kind) {
    case OPTION_KIND_WHOLE:
        *(long *)rule->to = option_long(option, value, rule->min, rule->max);
        break;
    case OPTION_KIND_NUMBER:
        *(double *)rule->to = option_double(option, value, rule->low,
                                            rule->high);
        break;
    case OPTION_KIND_CHOICE:
        /* an enum of small values is an unsigned int, which an int *
         * may write (C11 6.5p7); any other size is the table's bug */
        if (rule->size != sizeof(int))
            error_fatal("%s: a choice goes into an int or an enum", option);
        *(int *)rule->to = option_choice(option, value, rule->choices);
        break;
    case OPTION_KIND_FLAG:
        *(bool *)rule->to = true;
        break;
    case OPTION_KIND_TEXT:
        *(const char **)rule->to = value;
        break;
    }
    return true;
}

static bool rules_option(int c, const char *value, void *data)
{
    return option_rules_apply(data, c, value);
}

void option_parse_rules(int argc, char *argv[],
                        const struct option_rule rules[],
                        void (*usage)(void), bool *quiet,
                        const char **trace)
{
    struct option options[OPTION_MAX_RULES + 5] = { { NULL, 0, NULL, 0 } };
    static const struct option common[] = { COMMON_LONG_OPTIONS };
    size_t rows = 0;

    option_rules_rows(rules, options, &rows, OPTION_MAX_RULES + 1);
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        options[rows++] = common[i];    /* after the program's own */
    options[rows] = (struct option){ NULL, 0, NULL, 0 };
    option_parse(argc, argv, options, rules_option, (void *)rules, usage,
                 quiet, trace);
}
/* SPDX-License-Identifier: MIT */
