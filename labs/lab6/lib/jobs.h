/* jobs.h -- the CPU work of lab 6, shared by its four programs (jobs.c).
 *
 * cpu_sync, cpu_threads, cpu_async and cpu_fork run the same jobs; only
 * the way they run them differs, and that part lives in each program's own
 * file.  This header holds what is NOT the lesson: what a job computes,
 * the options every program shares (--work, --jobs, --n) and how results
 * are printed, so that the four outputs can be compared line for line:
 *
 *     job 3: fib(35) = 9227465 (worker 2)
 *     results=[9227465, 9227465, ...]        (always in job order)
 *
 * The three kinds of work, from the three texts this kit ports:
 *
 *   fib      job k computes fib(n) recursively, n = 35
 *            (the Real Python tutorial)
 *   squares  job k sums i*i for i < n + k, n = 5_000_000
 *            (the Real Python tutorial, 2019 edition)
 *   math     job k runs the power loop n = 2_000_000 times, starting
 *            from k + 1 (the async/threads/locks article)
 *
 * Keeping the work honest: the compiler may delete or merge work whose
 * result it can predict.  Here every size comes from the command line, the
 * job runner is never inlined into the caller's loop (so twenty calls stay
 * twenty calls, not one call whose result is reused) and every result is
 * printed (jobs.c).  `./cpu_sync --jobs 4` takes four times as long as
 * `--jobs 1`, which lab6.bats checks.
 */
#ifndef LAB6_JOBS_H
#define LAB6_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ====== What a job computes ====== */

enum work {
    WORK_FIB,                   /* fib(n), recursively */
    WORK_SQUARES,               /* sum of i*i for i < n + k */
    WORK_MATH,                  /* the article's power loop, n steps */
};

#define DEFAULT_JOBS 20         /* every text runs twenty jobs */
#define MAX_JOBS 1000           /* keeps cpu_fork's job pipe in one page */

/* The settings every lab 6 program shares. */
struct jobs {
    enum work work;             /* --work: fib, squares or math */
    long count;                 /* --jobs: how many jobs */
    long n;                     /* --n: size of each job */
    const char *n_text;         /* --n as given, checked after --work */
};

/* One job's answer.  fib and squares are exact integers; math is the
 * double the article's loop ends with. */
struct job_result {
    unsigned __int128 integer;  /* fib, squares: the exact value */
    double real;                /* math: the float result */
};

/* fib(n) the slow way, as in the Real Python tutorial: about 1.6^n calls
 * -- 30 million for fib(35).  Every call is a real call (see jobs.c). */
uint64_t fib(long n);

/* One pass of the article's power loop (x **= 4, 0.25, 2, 0.5; x += 1),
 * bit for bit as Python computes it: the first pass from the int start,
 * every later one from the float x. */
double math_first_step(long start);
double math_step(double x);

/* The input of job k: fib's n, the count of squares, math's start. */
long job_input(const struct jobs *jobs, long k);

/* Run job k to the end, into *result.  Never inlined: each call is a
 * real call, which the compiler cannot merge with the previous one. */
void run_job(const struct jobs *jobs, long k, struct job_result *result);

struct gil;                     /* labs/gil/gil.h */

/* run_job(), computed while holding the GIL (cpu_threads --gil): the same
 * arithmetic, with a gil_checkpoint() every few microseconds, where the
 * holder may be made to let go.  The caller holds the GIL as `worker`. */
void run_job_with_gil(const struct jobs *jobs, long k,
                      struct job_result *result, struct gil *gil,
                      long worker);

/* ====== Options every program shares ====== */

/* The usage lines of the shared options, for each program's usage(). */
#define JOBS_USAGE                                                      \
    "  --work fib|squares|math  what each job computes (fib)\n"         \
    "  --jobs N                 how many jobs (20)\n"                   \
    "  --n N                    job size: fib(N) (35), squares below\n" \
    "                           N+k (5000000), math steps (2000000)\n"

/* The usage lines of the options every kit program takes, last in each
 * lab 6 program's usage(). */
#define JOBS_USAGE_COMMON                                               \
    "  --trace FILE             write one CSV row per job\n"            \
    "  --color WHEN             colour: auto, always, never (auto)\n"   \
    "  -q, --quiet              print only the summary lines\n"         \
    "  -h, --help               show this help\n"

struct option_rule;             /* common/options.h */

/* Read argv: --work, --jobs and --n into *jobs (fib, 20 jobs and the
 * work's n when not given), then the program's own rules (OPTION_END
 * alone when it has none) and the options every kit program takes
 * (option_parse_rules() in common/options.h).  --n is checked last,
 * because its range depends on --work, which may come after it on the
 * command line. */
void jobs_parse_options(int argc, char *argv[],
                        const struct option_rule *own, void (*usage)(void),
                        struct jobs *jobs, bool *quiet, const char **trace);

/* ====== Before and after the run ====== */

/* Room for every job's result, and --trace opened when trace is not NULL:
 * what each program does before it starts the clock. */
struct job_result *jobs_start(const struct jobs *jobs, const char *trace);

/* Free the results and close the trace; the exit status: status, or
 * EXIT_WORK_FAILED when the trace could not be written. */
int jobs_finish(struct job_result *results, int status);

/* ====== Printing results ====== */

/* One per-job line, written whole even when workers print at once:
 *     job 3: fib(35) = 9227465 (worker 2) */
void print_job_line(const struct jobs *jobs, long k,
                    const struct job_result *result, const char *runner,
                    long runner_id);

/* The checkable summary, in job order whatever order the jobs ran in:
 *     results=[9227465, 9227465, 9227465] */
void print_results(const struct jobs *jobs,
                   const struct job_result *results);

/* The end of a run that finished done of the jobs: the results when all
 * are done; after an interrupt, interrupt_report()'s line on stderr:
 *     cpu_sync: interrupted by SIGINT: 3 of 20 jobs finished, the rest
 *     cancelled */
void print_summary(const struct jobs *jobs, const struct job_result *results,
                   long done);

/* Job k's row in the --trace CSV, labelled as format_job() says:
 *     3,2,fib(35),1520,54210,ok */
void trace_job(const struct jobs *jobs, long k, long worker,
               int64_t start_us, int64_t end_us, const char *status);

#endif
/* SPDX-License-Identifier: MIT */
