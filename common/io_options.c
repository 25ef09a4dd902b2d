/* io_options.c -- the I/O labs' shared command line; see io_options.h. */
#include "io_options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "options.h"
#include "sites.h"

#define OPTION_COLUMN 29        /* where --help's explanations start */

static void usage(const struct io_program *program)
{
    printf("usage: %s [options]\n%s\n\n", program->name, program->summary);
    if (program->knob != NULL) {
        int width = printf("  --%s N", program->knob);
        printf("%*s  %s (%ld)\n", OPTION_COLUMN - width, "",
               program->knob_help, program->knob_default);
    }
    if (program->extra_usage != NULL)
        printf("%s", program->extra_usage);
    printf("  --sites local|internet|FILE  what to download (local)\n"
           "  --repeat N                   repeat the list N times "
           "(%ld; 1 for a FILE)\n"
           "  --timeout SECONDS            limit per download, at least 0.001 "
           "(0: none)\n"
           "  --no-session                 a new session (connection) for "
           "every download\n"
           "  --trace FILE                 write %s\n"
           "  --color WHEN                 colour: auto, always, never (auto)\n"
           "  -q, --quiet                  print only the summary lines\n"
           "  -h, --help                   show this help\n",
           program->default_repeat > 0 ? program->default_repeat
                                       : (long)SITES_DEFAULT_REPEAT,
           program->trace_rows ? program->trace_rows
                               : "one CSV row per download");
    if (program->epilogue != NULL)
        printf("\n%s", program->epilogue);
}

/* True when c is the val of one of the program's extra options. */
static bool is_extra(const struct io_program *program, int c)
{
    for (const struct option *extra = program->extra_options;
         extra != NULL && extra->name != NULL; extra++)
        if (extra->val == c)
            return true;
    return false;
}

/* The program being parsed, and its knob as "--workers": for
 * io_option() and usage_of_parsed(), which option_parse() calls. */
static const struct io_program *parsed;
static char knob_option[64];

static void usage_of_parsed(void)
{
    usage(parsed);
}

static bool io_option(int c, const char *value, void *data)
{
    struct io_settings *settings = data;

    switch (c) {
    case 's': settings->sites = value; break;
    case 'r':
        settings->repeat = option_long("--repeat", value, 1, 1000000);
        break;
    case 't':
        settings->timeout = option_double("--timeout", value, 0, 86400);
        /* libcurl counts whole milliseconds, and 0 means no limit: a
         * smaller timeout would silently become none at all */
        if (settings->timeout > 0 && settings->timeout < 0.001)
            error_usage("--timeout must be 0 (none) or at least 0.001 "
                        "seconds: '%s'", value);
        break;
    case 'n': settings->no_session = true; break;
    case 'k':
        settings->concurrency = option_long(knob_option, value, 1,
                                            parsed->knob_max);
        break;
    default:                    /* extra, or --trace, --color, -q, -h */
        if (!is_extra(parsed, c))
            return false;
        parsed->extra_option(c, value, parsed->extra_data);
    }
    return true;
}

void io_parse_options(int argc, char *argv[],
                      const struct io_program *program,
                      struct io_settings *settings)
{
    struct option options[8 + IO_MAX_EXTRA + 1] = {
        { "sites", required_argument, NULL, 's' },
        { "repeat", required_argument, NULL, 'r' },
        { "timeout", required_argument, NULL, 't' },
        { "no-session", no_argument, NULL, 'n' },
        COMMON_LONG_OPTIONS,
    };
    size_t rows = 8;            /* the rows above */

    if (program->knob != NULL)
        options[rows++] = (struct option){ program->knob, required_argument,
                                           NULL, 'k' };
    for (const struct option *extra = program->extra_options;
         extra != NULL && extra->name != NULL; extra++) {
        if (rows == 8 + IO_MAX_EXTRA)
            error_fatal("%s: more than %d extra options", program->name,
                        IO_MAX_EXTRA);
        options[rows++] = *extra;
    }
    options[rows] = (struct option){ NULL, 0, NULL, 0 };       /* the end */

    snprintf(knob_option, sizeof knob_option, "--%s",
             program->knob ? program->knob : "");
    *settings = (struct io_settings){
        .sites = "local",
        .repeat = -1,
        .concurrency = program->knob ? program->knob_default : 0,
    };
    parsed = program;
    option_parse(argc, argv, options, io_option, settings, usage_of_parsed,
                 &settings->quiet, &settings->trace);
    if (settings->repeat < 0 && program->default_repeat > 0 &&
        (strcmp(settings->sites, "local") == 0 ||
         strcmp(settings->sites, "internet") == 0))
        settings->repeat = program->default_repeat;
}
/* SPDX-License-Identifier: MIT */
