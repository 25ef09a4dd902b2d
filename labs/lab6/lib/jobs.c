/* jobs.c -- the CPU work of lab 6 and how its results print; see jobs.h. */
#include "jobs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gil.h"
#include "interrupt.h"
#include "options.h"
#include "trace.h"

/* ====== What a job computes ====== */

static const char *const work_names[] = { "fib", "squares", "math", NULL };

/* The default --n of each work, and the largest one allowed: fib(92) is
 * the last Fibonacci number that fits in 64 bits (though fib(50) already
 * takes minutes); sums of squares up to 10^12 fit in 128 bits. */
static const long work_default_n[] = { 35, 5000000, 2000000 };
static const long work_max_n[] = { 92, 1000000000000, 1000000000000 };

/* fib(n) the slow way, as in the Real Python tutorial: about 1.6^n calls
 * -- 30 million for fib(35).  Never inlined, not even into itself: gcc
 * would otherwise unroll a few levels of the recursion into one big function, whose speed
 * then depends on where it is called from.  Every call here is a real
 * call, in every program, as every call is in Python. */
__attribute__((noinline)) uint64_t fib(long n)
{
    return n < 2 ? (uint64_t)n : fib(n - 2) + fib(n - 1);
}

/* Sum of i*i for 0 <= i < count, exactly.  For count = 5_000_000 the sum
 * is about 4.2e19, past the 1.8e19 an unsigned 64-bit integer holds, so
 * the sum is kept in 128 bits (enough up to count = 10^12). */
static unsigned __int128 sum_of_squares(uint64_t count)
{
    unsigned __int128 sum = 0;

    for (uint64_t i = 0; i < count; i++)
        sum += (unsigned __int128)i * i;
    return sum;
}

/* The power loop of the async/threads/locks article, done with the same
 * floating-point steps as Python, so the results are the same doubles bit
 * for bit:
 *
 *     x = start                   an int
 *     repeat steps times:
 *         x **= 4                 int ** int: exact, on the first pass
 *         x **= 0.25              now a float: C's pow()
 *         x **= 2
 *         x **= 0.5
 *         x += 1
 *
 * Python computes float ** float with the C library's pow().  gcc would
 * quietly compile pow(x, 2.0) as x * x, which glibc's pow() does not
 * always match in the last bit; reading the exponent from a volatile
 * keeps the real call.  (No -ffast-math anywhere: it would reorder the
 * arithmetic.) */
static volatile double math_two = 2.0;

/* The rest of a pass once x ** 4 is known. */
static double math_finish_step(double fourth_power)
{
    double x = pow(fourth_power, 0.25);

    x = pow(x, math_two);
    x = pow(x, 0.5);
    return x + 1;
}

/* The first pass: x is still a Python int, so x ** 4 is exact and only
 * then rounded to a double. */
double math_first_step(long start)
{
    uint64_t x = (uint64_t)start;

    return math_finish_step((double)(x * x * x * x));
}

/* Every later pass: x is a float. */
double math_step(double x)
{
    return math_finish_step(pow(x, 4.0));
}

long job_input(const struct jobs *jobs, long k)
{
    switch (jobs->work) {
    case WORK_FIB: return jobs->n;
    case WORK_SQUARES: return jobs->n + k;
    case WORK_MATH: return k + 1;
    }
    return 0;
}

__attribute__((noinline))
void run_job(const struct jobs *jobs, long k, struct job_result *result)
{
    long input = job_input(jobs, k);

    *result = (struct job_result){ 0 };
    switch (jobs->work) {
    case WORK_FIB:
        result->integer = fib(input);
        break;
    case WORK_SQUARES:
        result->integer = sum_of_squares((uint64_t)input);
        break;
    case WORK_MATH: {
        double x = math_first_step(input);
        for (long step = 1; step < jobs->n; step++)
            x = math_step(x);
        result->real = x;
        break;
    }
    }
}

/* ====== The same jobs, computed while holding the GIL ======
 *
 * For cpu_threads --gil.  The arithmetic is the one above, step for step;
 * the only change is a gil_checkpoint() every few microseconds of work,
 * where the holder may be made to let go.  The results stay identical to
 * cpu_sync's. */

#define FIB_CHECK_FROM 20       /* fib: look at the GIL from fib(20) up */
#define SQUARES_PER_CHECK 16384 /* squares: look at the GIL this often */

/* CPython looks at drop_request between bytecodes.  Here a look on every
 * call would cost more than the call itself and slow the work down for a
 * reason that has nothing to do with the GIL, so fib looks once per call
 * of fib(FIB_CHECK_FROM) or larger: every 20-odd microseconds, still far
 * shorter than the 5 ms switch interval. */
static uint64_t fib_with_gil(struct gil *gil, long worker, long n)
{
    if (n < FIB_CHECK_FROM)
        return fib(n);                  /* a small subtree: no look */
    gil_checkpoint(gil, worker);
    return fib_with_gil(gil, worker, n - 2)
           + fib_with_gil(gil, worker, n - 1);
}

static unsigned __int128 sum_of_squares_with_gil(struct gil *gil,
                                                 long worker,
                                                 uint64_t count)
{
    unsigned __int128 sum = 0;
    uint64_t i = 0;

    while (i < count) {
        gil_checkpoint(gil, worker);    /* between chunks of squares */
        uint64_t end = count - i > SQUARES_PER_CHECK
                           ? i + SQUARES_PER_CHECK : count;
        for (; i < end; i++)
            sum += (unsigned __int128)i * i;
    }
    return sum;
}

void run_job_with_gil(const struct jobs *jobs, long k,
                      struct job_result *result, struct gil *gil,
                      long worker)
{
    long input = job_input(jobs, k);

    *result = (struct job_result){ 0 };
    switch (jobs->work) {
    case WORK_FIB:
        result->integer = fib_with_gil(gil, worker, input);
        break;
    case WORK_SQUARES:
        result->integer = sum_of_squares_with_gil(gil, worker,
                                                  (uint64_t)input);
        break;
    case WORK_MATH: {
        double x = math_first_step(input);
        for (long step = 1; step < jobs->n; step++) {
            gil_checkpoint(gil, worker);
            x = math_step(x);
        }
        result->real = x;
        break;
    }
    }
}

/* ====== Options every program shares ====== */

void jobs_parse_options(int argc, char *argv[],
                        const struct option_rule *own, void (*usage)(void),
                        struct jobs *jobs, bool *quiet, const char **trace)
{
    struct option_rule rules[OPTION_MAX_RULES + 1] = {
        OPTION_CHOICE("work", &jobs->work, work_names),
        OPTION_WHOLE("jobs", &jobs->count, 1, MAX_JOBS),
        OPTION_TEXT("n", &jobs->n_text),        /* checked below */
    };
    size_t rows = 3;            /* the rows above; the program's own next */

    *jobs = (struct jobs){ .work = WORK_FIB, .count = DEFAULT_JOBS };

    for (size_t i = 0; own[i].name != NULL; i++) {
        if (rows == OPTION_MAX_RULES)
            error_fatal("more than %d options", OPTION_MAX_RULES);
        rules[rows++] = own[i];
    }
    rules[rows] = (struct option_rule)OPTION_END;
    option_parse_rules(argc, argv, rules, usage, quiet, trace);
    if (jobs->n_text == NULL)
        jobs->n = work_default_n[jobs->work];
    else
        jobs->n = option_long("--n", jobs->n_text, 1,
                              work_max_n[jobs->work]);
}

/* ====== Before and after the run ====== */

struct job_result *jobs_start(const struct jobs *jobs, const char *trace)
{
    struct job_result *results = calloc(jobs->count, sizeof *results);

    if (results == NULL)
        error_fatal("out of memory for %ld results", jobs->count);
    if (trace != NULL)
        trace_open(trace);
    return results;
}

int jobs_finish(struct job_result *results, int status)
{
    free(results);
    if (trace_close() != 0)
        return EXIT_WORK_FAILED;
    return status;
}

/* ====== Printing results ====== */

/* An unsigned 128-bit number in decimal (printf has no format for it). */
static void format_u128(char *out, size_t size, unsigned __int128 value)
{
    char digits[40];
    int length = 0;

    do {
        digits[length++] = (char)('0' + (int)(value % 10));
        value /= 10;
    } while (value != 0);
    size_t i = 0;
    while (length > 0 && i + 1 < size)
        out[i++] = digits[--length];
    out[i] = '\0';
}

/* A double the way Python's repr() writes it: the fewest digits that read
 * back as the same double, with ".0" on whole numbers -- so the math list
 * reads exactly as the article printed it ("2000001.0"). */
static void format_double(char *out, size_t size, double value)
{
    char digits[40];
    int precision;

    for (precision = 1; precision < 17; precision++) {
        snprintf(digits, sizeof digits, "%.*e", precision - 1, value);
        if (strtod(digits, NULL) == value)
            break;
    }
    snprintf(digits, sizeof digits, "%.*e", precision - 1, value);
    int exponent = atoi(strchr(digits, 'e') + 1);
    if (!isfinite(value) || exponent < -4 || exponent >= 16) {
        snprintf(out, size, "%s", digits);
        return;
    }
    int decimals = precision - 1 - exponent;
    snprintf(out, size, "%.*f%s", decimals > 0 ? decimals : 0, value,
             decimals > 0 ? "" : ".0");
}

static void format_result(char *out, size_t size, const struct jobs *jobs,
                          const struct job_result *result)
{
    if (jobs->work == WORK_MATH)
        format_double(out, size, result->real);
    else
        format_u128(out, size, result->integer);
}

/* "fib(35)", "squares(5000003)", "math(4)": job k, for output and traces */
static void format_job(char *out, size_t size, const struct jobs *jobs,
                       long k)
{
    snprintf(out, size, "%s(%ld)", work_names[jobs->work],
             job_input(jobs, k));
}

void print_job_line(const struct jobs *jobs, long k,
                    const struct job_result *result, const char *runner,
                    long runner_id)
{
    char job[64], value[64];

    format_job(job, sizeof job, jobs, k);
    format_result(value, sizeof value, jobs, result);
    print_worker_line(runner_id, "job %ld: %s = %s (%s %ld)", k, job, value,
                      runner, runner_id);
}

void print_results(const struct jobs *jobs,
                   const struct job_result *results)
{
    char value[64];

    fputs("results=[", stdout);
    for (long k = 0; k < jobs->count; k++) {
        format_result(value, sizeof value, jobs, &results[k]);
        printf("%s%s", k > 0 ? ", " : "", value);
    }
    fputs("]\n", stdout);
}

void print_summary(const struct jobs *jobs, const struct job_result *results,
                   long done)
{
    if (done == jobs->count)
        print_results(jobs, results);
    interrupt_report((size_t)done, (size_t)jobs->count, "jobs");
}

void trace_job(const struct jobs *jobs, long k, long worker,
               int64_t start_us, int64_t end_us, const char *status)
{
    char label[64];

    format_job(label, sizeof label, jobs, k);
    trace_record(k, worker, label, start_us, end_us, status);
}
/* SPDX-License-Identifier: MIT */
