/* explore.c -- the driver of --schedule and --explore (see explore.h): it
 * starts the lesson's threads under the turnstile, walks every schedule,
 * judges each run and prints the summary labs 7 and 8 share.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "explore.h"
#include "interrupt.h"
#include "timer.h"
#include "trace.h"

#define PROGRESS_AFTER_US 2000000   /* a run this long shows its progress */
#define PROGRESS_EVERY_US 250000    /* ... redrawn this often */

/* ====== Counting schedules ====== */

/* How many interleavings threads of steps_each steps have, without locks:
 * the multinomial coefficient (s1 + s2 + ...)! / (s1! s2! ...), saturated
 * at INTERLEAVE_MAX_RUNS + 1.  formula gets "6!/(3!*3!)", or for more
 * than three threads "12!/(3!^4)" (not four factors). */
static long count_schedules(int threads, long steps_each, char *formula,
                            size_t formula_size)
{
    long count = 1;
    long sum = 0;
    size_t used;

    /* multiply by C(sum + s, s) thread by thread: each product is whole */
    for (int t = 0; t < threads; t++) {
        for (long k = 1; k <= steps_each; k++) {
            sum++;
            if (count > INTERLEAVE_MAX_RUNS) {
                count = INTERLEAVE_MAX_RUNS + 1;
                continue;
            }
            /* count * sum / k stays whole: count is C(.,.)-shaped */
            __int128 next = (__int128)count * sum / k;
            count = next > INTERLEAVE_MAX_RUNS ? INTERLEAVE_MAX_RUNS + 1
                                               : (long)next;
        }
    }
    if (threads > 3) {
        snprintf(formula, formula_size, "%ld!/(%ld!^%d)", sum, steps_each,
                 threads);
        return count;
    }
    used = (size_t)snprintf(formula, formula_size, "%ld!/(", sum);
    for (int t = 0; t < threads && used < formula_size; t++)
        used += (size_t)snprintf(formula + used, formula_size - used,
                                 "%s%ld!", t ? "*" : "", steps_each);
    if (used < formula_size)
        snprintf(formula + used, formula_size - used, ")");
    return count;
}

void interleave_check(const struct interleaving *plan, const char *schedule,
                      bool explore)
{
    int named[TURNSTILE_MAX_THREADS] = { 0 };
    long total = plan->threads * plan->steps_each;
    char formula[64];

    if (schedule == NULL && !explore)
        return;
    if (total > TURNSTILE_MAX_STEPS)
        error_usage("--schedule and --explore take at most %d steps in "
                    "all (%s", TURNSTILE_MAX_STEPS, plan->too_long);
    if (explore &&
        count_schedules(plan->threads, plan->steps_each, formula,
                        sizeof formula) > INTERLEAVE_MAX_RUNS)
        error_usage("--explore would run more than %d schedules (%s): %s",
                    INTERLEAVE_MAX_RUNS, formula, plan->too_many);
    if (schedule == NULL)
        return;

    long length = (long)strlen(schedule);
    for (const char *letter = schedule; *letter != '\0'; letter++) {
        int t = *letter - 'A';
        if (t < 0 || t >= plan->threads)
            error_usage("--schedule names a thread there is not: '%c' "
                        "(%d threads: A to %c)", *letter, plan->threads,
                        turnstile_letter(plan->threads - 1));
        if (++named[t] > plan->steps_each)
            error_usage("--schedule is too long: it names %c more than "
                        "the %ld times %c has steps: '%s'", *letter,
                        plan->steps_each, *letter, schedule);
    }
    if (length == 0)
        error_usage("--schedule is empty: name a thread for every step");
    if (length > total)
        error_usage("--schedule is too long: %ld letters for %ld steps: "
                    "'%s'", length, total, schedule);
    /* a deadlock can end a run before every step */
    if (length < total && !plan->deadlocks)
        error_usage("--schedule is too short: %ld letters for %ld steps "
                    "(%d threads x %ld steps): '%s'", length, total,
                    plan->threads, plan->steps_each, schedule);
}

/* ====== One controlled run ====== */

/* Put the shared data back, start a thread per letter, let the turnstile
 * drive them (by the schedule, or by the explorer), join them; returns
 * what the lesson measures. */
static long run_controlled(const struct interleaving *plan,
                           struct turnstile_run *run, const char *schedule,
                           struct turnstile_explorer *explorer, bool print)
{
    pthread_t threads[TURNSTILE_MAX_THREADS];
    int s;

    plan->reset(plan->context);
    turnstile_begin(plan->threads);
    for (int t = 0; t < plan->threads; t++) {
        s = pthread_create(&threads[t], NULL, plan->thread, plan->args[t]);
        if (s != 0)
            error_fatal("cannot start thread %c: %s: a controlled run "
                        "needs all %d", turnstile_letter(t), strerror(s),
                        plan->threads);
    }
    turnstile_run(run, schedule, explorer, print);
    for (int t = 0; t < plan->threads; t++) {
        s = pthread_join(threads[t], NULL);
        if (s != 0)
            error_fatal_errno(s, "pthread_join");
    }
    return plan->measure(plan->context);
}

int interleave_replay(const struct interleaving *plan, const char *schedule,
                      bool print)
{
    struct turnstile_run run;

    fflush(stdout);                     /* the steps are print_line()s */
    run_controlled(plan, &run, schedule, NULL, print);
    switch (run.outcome) {
    case TURNSTILE_DONE:
        return 0;
    case TURNSTILE_DEADLOCK:
        printf("deadlock after %d steps: %s (each waits for a lock another "
               "holds: none can go on)\n", run.steps, run.deadlock);
        return EXIT_WORK_FAILED;
    case TURNSTILE_BLOCKED:
        printf("%c: blocked: ", turnstile_letter(run.stuck));
        printf(plan->words->blocked, turnstile_letter(run.holder));
        printf("\n");
        error_report("step %d of the schedule cannot run: %c waits for "
                     "%s %c holds: '%s'", run.steps + 1,
                     turnstile_letter(run.stuck), plan->words->lock,
                     turnstile_letter(run.holder), schedule);
        return EXIT_WORK_FAILED;
    case TURNSTILE_SHORT:
    case TURNSTILE_FINISHED_THREAD:
        break;
    }
    error_usage("--schedule is too short: it ends after %d steps and no "
                "deadlock stops the %s: '%s'", run.steps,
                plan->words->threads, schedule);
}

/* ====== Progress on a terminal ====== */

/* "explored 120000 of at most 369600 schedules (32%)" on stderr, redrawn
 * in place, once a run has taken PROGRESS_AFTER_US -- only on a terminal:
 * a pipe or a check never sees it. */
struct progress {
    bool terminal;              /* stderr is a terminal */
    bool shown;                 /* a line is on the screen */
    int64_t start_us;           /* when the exploration began */
    int64_t shown_us;           /* when the line was last drawn */
};

static void progress_start(struct progress *progress)
{
    *progress = (struct progress){ .terminal = isatty(STDERR_FILENO),
                                   .start_us = program_us() };
}

static void progress_show(struct progress *progress, long runs, long bound)
{
    char line[128];

    if (!progress->terminal)
        return;
    int64_t now = program_us();
    if (now - progress->start_us < PROGRESS_AFTER_US ||
        now - progress->shown_us < PROGRESS_EVERY_US)
        return;
    int n = snprintf(line, sizeof line, "\rexplored %ld of at most %ld "
                     "schedules (%ld%%), Ctrl-C stops", runs, bound,
                     runs * 100 / bound);
    ssize_t written = write(STDERR_FILENO, line, (size_t)n);
    (void)written;              /* a lost progress line is not worth more */
    progress->shown = true;
    progress->shown_us = now;
}

/* Erase the progress line before the summary. */
static void progress_end(struct progress *progress)
{
    if (progress->shown) {
        ssize_t written = write(STDERR_FILENO, "\r\033[K", 4);
        (void)written;
    }
}

/* ====== Exploring every schedule ====== */

/* The schedules that went wrong, and among them the one with the fewest
 * switches between threads ("AABBBA" has 2): every schedule of a case has
 * the same length, so that is the shortest one to read and to replay. */
struct failures {
    long count;                 /* schedules that went wrong */
    int switches;               /* the shortest one's switches; -1: none */
    char shortest[TURNSTILE_MAX_STEPS + 1];  /* its letters; "" : none */
};

/* How often the thread changes along a schedule: "AABBBA" -> 2. */
static int switches_of(const char *schedule)
{
    int switches = 0;

    for (const char *c = schedule; c[0] != '\0' && c[1] != '\0'; c++)
        if (c[0] != c[1])
            switches++;
    return switches;
}

static void failures_add(struct failures *failures, const char *schedule)
{
    int switches = switches_of(schedule);

    failures->count++;
    if (failures->switches < 0 || switches < failures->switches) {
        failures->switches = switches;
        snprintf(failures->shortest, sizeof failures->shortest, "%s",
                 schedule);
    }
}

bool interleave_explore(const struct interleaving *plan)
{
    const struct interleave_words *words = plan->words;
    char formula[64];
    struct failures failed = { .switches = -1 };
    char stuck[TURNSTILE_MAX_STEPS + 1] = "";   /* the shortest deadlock */
    char stuck_how[256] = "";
    long deadlocked = 0;
    struct turnstile_explorer explorer;
    struct turnstile_run run;
    struct progress progress;
    bool interrupted = false;

    long bound = count_schedules(plan->threads, plan->steps_each, formula,
                                 sizeof formula);
    progress_start(&progress);
    turnstile_explore_start(&explorer);
    do {
        int64_t start_us = program_us();
        if (interrupt_requested())
            break;
        long value = run_controlled(plan, &run, NULL, &explorer, false);
        /* a thread may have seen the signal and skipped its steps: a run
         * the interrupt touched is not counted */
        if (interrupt_requested())
            break;
        const char *status = "ok";
        char label[TURNSTILE_MAX_STEPS + 64];

        if (run.outcome == TURNSTILE_DEADLOCK) {
            deadlocked++;
            status = "failed";
            if (stuck[0] == '\0' || run.steps < (int)strlen(stuck)) {
                snprintf(stuck, sizeof stuck, "%s", run.schedule);
                snprintf(stuck_how, sizeof stuck_how, "%s", run.deadlock);
            }
            snprintf(label, sizeof label, "%s deadlock", run.schedule);
        } else {
            if (value != plan->expected) {
                failures_add(&failed, run.schedule);
                status = "lost";
            }
            snprintf(label, sizeof label, "%s %s=%ld", run.schedule,
                     words->measured, value);
        }
        trace_record(explorer.runs, 0, label, start_us, program_us(),
                     status);
        progress_show(&progress, explorer.runs + 1, bound);
    } while (turnstile_explore_next(&explorer));
    progress_end(&progress);
    interrupted = interrupt_requested();

    long runs = explorer.runs;
    if (interrupted)
        printf("schedules: %ld explored, then interrupted (of %s = %ld "
               "orders of the steps)\n", runs, formula, bound);
    else if (runs == bound)
        printf("schedules: %ld = %s\n", runs, formula);
    else
        printf("schedules: %ld (of %s = %ld orders of the steps: a thread "
               "waiting for %s takes no step)\n", runs, formula, bound,
               words->lock);
    printf("%s: %ld of %ld\n", words->failed, failed.count, runs);
    if (failed.count > 0)
        printf("%s: %s (%d switches)\n", words->shortest, failed.shortest,
               failed.switches);
    if (plan->deadlocks) {
        printf("deadlocked: %ld of %ld\n", deadlocked, runs);
        if (deadlocked > 0)
            printf("shortest deadlock: %s (%s)\n", stuck, stuck_how);
    }
    if (failed.count > 0 || deadlocked > 0)
        printf("replay it: ./%s %s --schedule %s\n", plan->program,
               plan->replay_args, deadlocked > 0 ? stuck : failed.shortest);
    interrupt_report((size_t)runs, (size_t)bound, "schedules");
    return !interrupted;
}

/* ====== The same case as cooperative tasks ====== */

bool interleave_tasks_on;

static struct async_lock *waiting_for[TURNSTILE_MAX_THREADS];  /* per task */
static long waiting_since[TURNSTILE_MAX_THREADS];  /* its ticket (FIFO) */
static long tickets;            /* tickets given this run */
static int task_count;          /* tasks in this run */

bool interleave_lock_acquire(struct async_lock *lock, struct task *task)
{
    if (!lock->held) {
        lock->held = true;
        return false;
    }
    waiting_for[task->id] = lock;
    waiting_since[task->id] = ++tickets;
    return true;
}

/* Under the explorer: hand the lock to the task that has waited longest,
 * if any (it stays held, and that task may move again), else free it. */
void task_give(struct async_lock *lock)
{
    int first = -1;

    if (!interleave_tasks_on) {
        async_lock_release(lock);
        return;
    }
    for (int t = 0; t < task_count; t++)
        if (waiting_for[t] == lock &&
            (first < 0 || waiting_since[t] < waiting_since[first]))
            first = t;
    if (first >= 0)
        waiting_for[first] = NULL;
    else
        lock->held = false;
}

void interleave_explore_tasks(const struct interleaving *plan,
                              task_proc *body, long steps_each,
                              void *const *states,
                              struct interleave_task_counts *counts)
{
    struct turnstile_explorer explorer;
    struct task tasks[TURNSTILE_MAX_THREADS];

    *counts = (struct interleave_task_counts){ 0 };
    counts->bound = count_schedules(plan->threads, steps_each,
                                    counts->formula, sizeof counts->formula);
    if (counts->bound > INTERLEAVE_MAX_RUNS || interrupt_requested())
        return;
    interleave_tasks_on = true;
    task_count = plan->threads;
    turnstile_explore_start(&explorer);
    do {
        int step = 0;
        unsigned int alive = 0;
        bool stuck = false;

        if (interrupt_requested())
            break;
        plan->reset(plan->context);
        tickets = 0;
        for (int t = 0; t < task_count; t++) {
            tasks[t] = (struct task){ .body = body, .state = states[t],
                                      .id = t };
            waiting_for[t] = NULL;
            alive |= 1u << t;
        }
        while (alive != 0) {
            unsigned int ready = 0;
            for (int t = 0; t < task_count; t++)
                if ((alive & (1u << t)) && waiting_for[t] == NULL)
                    ready |= 1u << t;
            if (ready == 0) {
                stuck = true;           /* every task left waits: deadlock */
                break;
            }
            int t = turnstile_explore_choose(&explorer, step++, ready);
            if (tasks[t].body(&tasks[t]) == TASK_FINISHED)
                alive &= ~(1u << t);
        }
        explorer.depth = step;
        if (stuck)
            counts->deadlocked++;
        else if (plan->measure(plan->context) != plan->expected)
            counts->failed++;
    } while (turnstile_explore_next(&explorer));
    interleave_tasks_on = false;
    counts->runs = explorer.runs;
    if (interrupt_requested()) {
        printf("as tasks: %ld schedules explored, then interrupted: %s: "
               "%ld of %ld\n", counts->runs, plan->words->failed,
               counts->failed, counts->runs);
        interrupt_report((size_t)counts->runs, (size_t)counts->bound,
                         "task schedules");
        counts->runs = 0;
    }
}
/* SPDX-License-Identifier: MIT */
