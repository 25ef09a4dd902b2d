/* settings.c -- race_condition's command line (see settings.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "explore.h"
#include "options.h"
#include "settings.h"

const char *const lock_names[] = { "none", "mutex", "atomic", "spin",
                                   NULL };

static void usage(void)
{
    printf("usage: race_condition [options]\n"
           "Threads add 1 to a shared counter, with or without a lock.\n\n"
           "  --threads N                threads adding (2; 1 to %d)\n"
           "  --increments N             additions per thread (1000000)\n"
           "  --lock none|mutex|atomic|spin\n"
           "                             how the counter is protected "
           "(none)\n"
           "  --window N                 busy-loop steps between reading "
           "and writing\n"
           "                             the counter (%d; 0: a plain "
           "counter++)\n"
           "  --schedule ABAB...         replay one interleaving: each "
           "letter lets one\n"
           "                             thread (A, B, ...) take its next "
           "step\n"
           "  --explore                  run every interleaving of a small "
           "case (at most\n"
           "                             %d schedules)\n"
           "  --trace FILE               write one CSV row per thread "
           "(--explore: per\n"
           "                             schedule)\n"
           "  --color WHEN               colour: auto, always, never (auto)\n"
           "  -q, --quiet                summary lines only (no steps)\n"
           "  -h, --help                 show this help\n",
           MAX_THREADS, DEFAULT_WINDOW, INTERLEAVE_MAX_RUNS);
}

void parse_options(int argc, char *argv[], struct settings *settings)
{
    static const struct option options[] = {
        { "threads", required_argument, NULL, 't' },
        { "increments", required_argument, NULL, 'i' },
        { "lock", required_argument, NULL, 'l' },
        { "window", required_argument, NULL, 'w' },
        { "schedule", required_argument, NULL, 'S' },
        { "explore", no_argument, NULL, 'E' },
        COMMON_LONG_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    int c;

    *settings = (struct settings){
        .threads = 2, .increments = 1000000, .lock = LOCK_NONE,
        .window = DEFAULT_WINDOW,
    };
    while ((c = option_next(argc, argv, options)) != -1) {
        switch (c) {
        case 't':
            settings->threads = option_long("--threads", optarg, 1,
                                            MAX_THREADS);
            break;
        case 'i':
            settings->increments = option_long("--increments", optarg, 1,
                                               100000000);
            break;
        case 'l':
            settings->lock = option_choice("--lock", optarg, lock_names);
            break;
        case 'w':
            settings->window = option_long("--window", optarg, 0, 100000);
            break;
        case 'S': settings->schedule = optarg; break;
        case 'E': settings->explore = true; break;
        case 'h': usage(); exit(0);
        default:                /* --trace, --color, -q, or unknown */
            option_common(c, optarg, &settings->quiet, &settings->trace,
                          argv);
        }
    }
    option_no_operands(argc, argv);
    if (settings->schedule != NULL && settings->explore)
        error_usage("--schedule and --explore do not go together: "
                    "'--schedule %s'", settings->schedule);
    if ((settings->schedule != NULL || settings->explore) &&
        settings->lock == LOCK_SPIN)
        error_usage("--schedule and --explore step through none, mutex "
                    "and atomic: '--lock spin'");
    if ((settings->schedule != NULL || settings->explore) &&
        settings->threads > TURNSTILE_MAX_THREADS)
        error_usage("--schedule and --explore name threads A to Z: "
                    "at most %d threads: '%ld'", TURNSTILE_MAX_THREADS,
                    settings->threads);
}
/* SPDX-License-Identifier: MIT */
