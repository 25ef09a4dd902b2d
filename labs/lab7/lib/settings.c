/* settings.c -- race_condition's command line, the case it describes to
 * the explorer and the summary --explore prints (see settings.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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
    const struct option_rule rules[] = {
        OPTION_WHOLE("threads", &settings->threads, 1, MAX_THREADS),
        OPTION_WHOLE("increments", &settings->increments, 1, 100000000),
        OPTION_CHOICE("lock", &settings->lock, lock_names),
        OPTION_WHOLE("window", &settings->window, 0, 100000),
        OPTION_TEXT("schedule", &settings->schedule),
        OPTION_FLAG("explore", &settings->explore),
        OPTION_END,
    };

    *settings = (struct settings){
        .threads = 2, .increments = 1000000, .lock = LOCK_NONE,
        .window = DEFAULT_WINDOW,
    };
    option_parse_rules(argc, argv, rules, usage, &settings->quiet,
                       &settings->trace);
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
/* ====== What the explorer is told, and what it prints ====== */

/* Each thread announces 3 steps per addition (read, compute, write), 5
 * with the mutex (take, read, compute, write, release), 1 with the atomic
 * add. */
void plan_additions(const struct settings *settings,
                    struct interleaving *plan, char text[3][128])
{
    static const int per_addition[] = {
        [LOCK_NONE] = 3, [LOCK_MUTEX] = 5, [LOCK_ATOMIC] = 1,
        [LOCK_SPIN] = 0,        /* refused by parse_options() */
    };
    static const struct interleave_words words = {
        .lock = "the lock", .blocked = "waits for the lock, which %c holds",
        .failed = "lost an update", .shortest = "shortest losing schedule",
        .measured = "counter", .threads = "threads",
    };

    snprintf(text[0], 128, "--threads %ld --increments %ld --lock %s",
             settings->threads, settings->increments,
             lock_names[settings->lock]);
    snprintf(text[1], 128, "try --increments 1): '--threads %ld "
             "--increments %ld'", settings->threads, settings->increments);
    snprintf(text[2], 128, "use fewer --threads or --increments: "
             "'%ld x %ld'", settings->threads, settings->increments);
    *plan = (struct interleaving){
        .program = "race_condition", .replay_args = text[0],
        .too_long = text[1], .too_many = text[2], .words = &words,
        .threads = (int)settings->threads,
        .steps_each = settings->increments * per_addition[settings->lock],
        .expected = settings->threads * settings->increments,
    };
}

/* --explore: every interleaving of the threads' steps, then of the same
 * additions as tasks. */
void explore_additions(const struct settings *settings,
                       const struct interleaving *plan, task_proc *add_task)
{
    struct interleave_task_counts tasks;

    printf("explore: %ld threads x %ld increment%s, --lock %s: %ld steps "
           "each\n", settings->threads, settings->increments,
           settings->increments == 1 ? "" : "s", lock_names[settings->lock],
           plan->steps_each);
    fflush(stdout);
    if (!interleave_explore(plan) || settings->lock == LOCK_ATOMIC)
        return;
    interleave_explore_tasks(plan, add_task, settings->increments,
                             plan->args, &tasks);
    if (tasks.runs > 0)
        printf("as tasks (an await between additions, none inside): "
               "schedules: %ld = %s, lost an update: %ld of %ld\n",
               tasks.runs, tasks.formula, tasks.failed, tasks.runs);
}

/* SPDX-License-Identifier: MIT */
