/* cpu_sync.c -- run every CPU-bound job, one after another, on one thread.
 *
 * The baseline of the CPU lab: no concurrency at all.  By default it
 * computes fib(35) twenty times with the slow recursive fib, as the Real
 * Python tutorial does.  Nothing here waits for anything: the one core it runs on is busy
 * from the first job to the last.
 *
 * Run:    make lab6 && ./cpu_sync
 *         ./cpu_sync --work squares       (the 2019 tutorial's squares)
 *         ./cpu_sync --work math          (the article's power loop)
 *
 * Watch:  one core at 100% (run `top` beside it) and the others idle.
 *         The time is the sum of the jobs' times; the other programs of
 *         this lab are measured against it.
 *
 * Compare with cpu_threads.c (the same jobs on threads), cpu_async.c (as
 * cooperative tasks) and cpu_fork.c (on processes).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "interrupt.h"
#include "lib/jobs.h"
#include "options.h"
#include "timer.h"
#include "trace.h"

struct settings {
    struct jobs jobs;           /* --work, --jobs, --n: what to compute */
    bool quiet;                 /* --quiet: summary lines only */
    const char *trace;          /* --trace: CSV file, or NULL */
};

static void usage(void)
{
    printf("usage: cpu_sync [options]\n"
           "Run CPU-bound jobs one after another on one thread.\n\n"
           JOBS_USAGE
           JOBS_USAGE_COMMON);
}

static void parse_options(int argc, char *argv[], struct settings *settings)
{
    static const struct option_rule none[] = { OPTION_END };

    *settings = (struct settings){ .quiet = false };
    jobs_parse_options(argc, argv, none, usage, &settings->jobs,
                       &settings->quiet, &settings->trace);
}

/* The whole "concurrency model": a for loop.  Ctrl-C stops it between
 * two jobs (the one running ends first).  Returns the jobs done. */
static long run_all_jobs(const struct settings *settings,
                         struct job_result *results)
{
    const struct jobs *jobs = &settings->jobs;
    long k;

    for (k = 0; k < jobs->count && !interrupt_requested(); k++) {
        int64_t start = program_us();
        run_job(jobs, k, &results[k]);          /* the CPU is busy here */
        trace_job(jobs, k, 0, start, program_us(), "ok");
        if (!settings->quiet)
            print_job_line(jobs, k, &results[k], "worker", 0);
    }
    long done = k;
    for (; k < jobs->count; k++) {      /* interrupted: never started */
        int64_t now = program_us();
        trace_job(jobs, k, 0, now, now, "cancelled");
    }
    return done;
}

int main(int argc, char *argv[])
{
    struct settings settings;
    struct timer timer;

    error_init(argv[0]);
    interrupt_install();        /* checked between two jobs */
    parse_options(argc, argv, &settings);
    struct job_result *results = jobs_start(&settings.jobs, settings.trace);

    timer_start(&timer);
    long done = run_all_jobs(&settings, results);
    print_summary(&settings.jobs, results, done);
    timer_print(&timer);

    return jobs_finish(results, interrupt_exit_status());  /* 0: no ^C */
}
/* SPDX-License-Identifier: MIT */
