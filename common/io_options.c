/* io_options.c -- the I/O labs' shared command line; see io_options.h. */
#include "io_options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "options.h"

#define OPTION_COLUMN 29        /* where --help's explanations start */

static void usage(const struct io_program *program)
{
    printf("usage: %s [options]\n%s\n\n", program->name, program->summary);
    if (program->knob != NULL) {
        int width = printf("  --%s N", program->knob);
        printf("%*s  %s (%ld)\n", OPTION_COLUMN - width, "",
               program->knob_help, program->knob_default);
    }
    printf("  --sites local|internet|FILE  what to download (local)\n"
           "  --repeat N                   repeat the list N times "
           "(50; 1 for a FILE)\n"
           "  --timeout SECONDS            limit per download, at least 0.001 "
           "(0: none)\n"
           "  --no-session                 a new session (connection) for "
           "every download\n"
           "  --trace FILE                 write one CSV row per download\n"
           "  --color WHEN                 colour: auto, always, never (auto)\n"
           "  -q, --quiet                  print only the summary lines\n"
           "  -h, --help                   show this help\n");
    if (program->epilogue != NULL)
        printf("\n%s", program->epilogue);
}

void io_parse_options(int argc, char *argv[],
                      const struct io_program *program,
                      struct io_settings *settings)
{
    struct option options[] = {
        { "sites", required_argument, NULL, 's' },
        { "repeat", required_argument, NULL, 'r' },
        { "timeout", required_argument, NULL, 't' },
        { "no-session", no_argument, NULL, 'n' },
        COMMON_LONG_OPTIONS,
        { program->knob, required_argument, NULL, 'k' },
        { NULL, 0, NULL, 0 },   /* ends the list (or the knob's place) */
    };
    char knob_option[64];
    int c;

    snprintf(knob_option, sizeof knob_option, "--%s",
             program->knob ? program->knob : "");
    *settings = (struct io_settings){
        .sites = "local",
        .repeat = -1,
        .concurrency = program->knob ? program->knob_default : 0,
    };
    while ((c = option_next(argc, argv, options)) != -1) {
        switch (c) {
        case 's': settings->sites = optarg; break;
        case 'r':
            settings->repeat = option_long("--repeat", optarg, 1, 1000000);
            break;
        case 't':
            settings->timeout = option_double("--timeout", optarg, 0, 86400);
            /* libcurl counts whole milliseconds, and 0 means no limit:
             * a smaller timeout would silently become none at all */
            if (settings->timeout > 0 && settings->timeout < 0.001)
                error_usage("--timeout must be 0 (none) or at least 0.001 "
                            "seconds: '%s'", optarg);
            break;
        case 'n': settings->no_session = true; break;
        case 'k':
            settings->concurrency = option_long(knob_option, optarg, 1,
                                                program->knob_max);
            break;
        case 'h': usage(program); exit(0);
        default:                /* --trace, --color, -q, or unknown */
            option_common(c, optarg, &settings->quiet, &settings->trace,
                          argv);
        }
    }
    option_no_operands(argc, argv);
}
