/* observe.c -- how lab 1 watches its trains; see observe.h. */
#define _GNU_SOURCE             /* sched_getcpu, RUSAGE_THREAD */
#include "observe.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "color.h"
#include "error.h"
#include "interrupt.h"
#include "timer.h"
#include "trace.h"

#define GAP_US 20               /* off the CPU for longer: a new stretch */

const char *const model_names[] = {
    "threads", "tasks", "processes", NULL
};

/* ====== One step, measured ====== */

/* CPU time this thread has used, in microseconds.  Unlike the wall
 * clock, it stands still while the thread waits for a CPU. */
static int64_t thread_cpu_us(void)
{
    struct timespec now;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/* Note the CPU this thread is running on right now in *mask (nothing if
 * the kernel cannot say). */
static void note_cpu(uint64_t *mask)
{
    int cpu = sched_getcpu();

    if (cpu >= 0 && cpu < MAX_CPUS)
        *mask |= UINT64_C(1) << cpu;
}

/* Keep a stretch the step ran, if it lasted at all and there is room
 * (a step preempted more often keeps its first MAX_RUNS: at-once may then
 * come out low, never high). */
static void add_run(struct step_event *event, struct cpu_run run)
{
    if (run.end_us > run.start_us && event->run_count < MAX_RUNS)
        event->runs[event->run_count++] = run;
}

/* Take one step: think (spin on the CPU) until this thread has used
 * work_us of CPU time.  Counting CPU time, not wall time, makes every
 * step the same amount of work even when the OS keeps the thread waiting.
 *
 * Meanwhile, note every CPU the step runs on (the OS may move it), and
 * every stretch of time it really had a CPU: when the wall clock moved on
 * between two looks but this thread's CPU clock did not, the OS had taken
 * the CPU away in between. */
struct step_event take_step(int train, int step, int64_t work_us)
{
    struct step_event event = { .train = train, .step = step };
    volatile unsigned long thought = 0;     /* volatile: not optimised out */

    event.start_us = program_us();
    int64_t cpu_start = thread_cpu_us();
    int64_t cpu_now = cpu_start;
    int64_t wall_now = program_us();
    struct cpu_run run = { wall_now, wall_now };

    while (cpu_now - cpu_start < work_us) {
        for (int i = 0; i < 5000; i++)
            thought += (unsigned long)i;
        note_cpu(&event.cpu_mask);

        int64_t cpu_before = cpu_now, wall_before = wall_now;
        cpu_now = thread_cpu_us();
        wall_now = program_us();
        if ((wall_now - wall_before) - (cpu_now - cpu_before) > GAP_US) {
            add_run(&event, run);       /* it ended at wall_before */
            run.start_us = wall_now;    /* and a new one is under way */
        }
        run.end_us = wall_now;
    }
    add_run(&event, run);
    note_cpu(&event.cpu_mask);
    event.end_us = program_us();
    event.cpu_time_us = cpu_now - cpu_start;
    return event;
}

long involuntary_switches(int who)
{
    struct rusage usage;

    if (getrusage(who, &usage) != 0)
        return 0;
    return usage.ru_nivcsw;
}

void observation_reap(struct observation *seen, int train, pid_t pid)
{
    struct rusage usage;
    int status;

    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) {
            error_report("cannot wait for train %c: %s", 'A' + train,
                         strerror(errno));
            seen->failed++;
            return;
        }
    }
    seen->preempted += usage.ru_nivcsw;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        error_report("train %c: the process failed", 'A' + train);
        seen->failed++;
    }
}

/* ====== Around one model's run ====== */

void observation_start(struct observation *seen, enum model model,
                       long trains, long steps)
{
    *seen = (struct observation){ .model = model, .preempted = -1 };
    seen->capacity = (size_t)(trains * steps);
    seen->events = calloc(seen->capacity, sizeof *seen->events);
    if (seen->events == NULL)
        error_fatal("out of memory");
    seen->start_us = program_us();
}

void observation_add(struct observation *seen,
                     const struct step_event *event)
{
    if (seen->count < seen->capacity)
        seen->events[seen->count++] = *event;
}

/* "threads:A step 3": a step's label in the trace */
static void step_label(char *label, size_t size, enum model model,
                       int train, int step)
{
    snprintf(label, size, "%s:%c step %d", model_names[model], 'A' + train,
             step);
}

/* One --trace row per step taken, numbered from *trace_id on. */
static void trace_steps(const struct observation *seen, long *trace_id)
{
    for (size_t i = 0; i < seen->count; i++) {
        const struct step_event *e = &seen->events[i];
        char label[64];

        step_label(label, sizeof label, seen->model, e->train, e->step);
        trace_record((*trace_id)++, e->train, label, e->start_us,
                     e->end_us, "ok");
    }
}

/* Interrupted: a `cancelled` row for every step of trains x steps that
 * seen did not take (seen->count may be 0: a model never started). */
static void trace_cancelled(const struct observation *seen, long trains,
                            long steps, long *trace_id)
{
    size_t total = (size_t)(trains * steps);
    bool *taken = calloc(total, sizeof *taken);

    if (taken == NULL)
        error_fatal("out of memory");
    for (size_t i = 0; i < seen->count; i++)
        taken[seen->events[i].train * steps + seen->events[i].step - 1] =
            true;
    for (int train = 0; train < trains; train++) {
        for (int step = 1; step <= steps; step++) {
            if (taken[train * steps + step - 1])
                continue;
            char label[64];
            int64_t now = program_us();
            step_label(label, sizeof label, seen->model, train, step);
            trace_record((*trace_id)++, train, label, now, now,
                         "cancelled");
        }
    }
    free(taken);
}

void observation_finish(struct observation *seen, long trains, long steps,
                        long *trace_id)
{
    seen->end_us = program_us();
    seen->done = true;
    trace_steps(seen, trace_id);
    if (interrupt_requested())
        trace_cancelled(seen, trains, steps, trace_id);
}

void observation_skip(struct observation *seen, enum model model,
                      long trains, long steps, long *trace_id)
{
    *seen = (struct observation){ .model = model, .preempted = -1 };
    seen->capacity = (size_t)(trains * steps);
    trace_cancelled(seen, trains, steps, trace_id);
}

/* ====== Reporting ====== */

/* Every CPU any step ran on, as a bit mask (bit N: CPU N). */
static uint64_t cpus_seen(const struct observation *seen)
{
    uint64_t mask = 0;

    for (size_t i = 0; i < seen->count; i++)
        mask |= seen->events[i].cpu_mask;
    return mask;
}

/* "0,1" into text: the CPUs in mask. */
static void format_cpus(uint64_t mask, char *text, size_t size)
{
    size_t len = 0;

    text[0] = '\0';
    for (int cpu = 0; cpu < MAX_CPUS && len < size; cpu++) {
        if (mask & (UINT64_C(1) << cpu))
            len += (size_t)snprintf(text + len, size - len, "%s%d",
                                    len > 0 ? "," : "", cpu);
    }
    if (text[0] == '\0')
        snprintf(text, size, "unknown");
}

/* CPU time of all the steps divided by the wall time the run took: how
 * many CPUs were busy with the trains, on average.  One thread can never
 * do more than a second of CPU work per second, so anything above 1
 * means several CPUs were working at the same time. */
static double busy_cpus(const struct observation *seen, int64_t *cpu_us)
{
    int64_t wall_us = seen->end_us - seen->start_us;

    *cpu_us = 0;
    for (size_t i = 0; i < seen->count; i++)
        *cpu_us += seen->events[i].cpu_time_us;
    return wall_us > 0 ? (double)*cpu_us / (double)wall_us : 0.0;
}

/* One end of a cpu_run, for the sweep in trains_at_once(). */
struct run_edge {
    int64_t time_us;            /* when */
    int change;                 /* +1: a train got a CPU, -1: it lost it */
};

static int compare_edges(const void *a, const void *b)
{
    const struct run_edge *x = a, *y = b;

    if (x->time_us != y->time_us)
        return x->time_us < y->time_us ? -1 : 1;
    return x->change - y->change;       /* at a tie, the end goes first */
}

/* The most trains that really had a CPU at the same instant: sweep
 * through every stretch's start (+1) and end (-1) in time order and keep
 * the highest count.  That is how many CPUs worked on the trains at once.
 * The stretches of one thread never overlap, so the tasks always score
 * 1.  Returns -1 when out of memory. */
static int trains_at_once(const struct observation *seen)
{
    size_t count = 0;

    for (size_t i = 0; i < seen->count; i++)
        count += 2 * (size_t)seen->events[i].run_count;
    if (count == 0)
        return 0;

    struct run_edge *edges = malloc(count * sizeof *edges);
    if (edges == NULL)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < seen->count; i++) {
        const struct step_event *e = &seen->events[i];
        for (int r = 0; r < e->run_count; r++) {
            edges[n++] = (struct run_edge){ e->runs[r].start_us, +1 };
            edges[n++] = (struct run_edge){ e->runs[r].end_us, -1 };
        }
    }
    qsort(edges, n, sizeof *edges, compare_edges);

    int running = 0, most = 0;
    for (size_t i = 0; i < n; i++) {
        running += edges[i].change;
        if (running > most)
            most = running;
    }
    free(edges);
    return most;
}

void print_observation(const struct observation *seen, long trains,
                       bool quiet)
{
    const char *name = model_names[seen->model];
    char cpus[256];

    /* one line per train: where its steps ran, when it finished */
    for (int train = 0; !quiet && train < trains; train++) {
        uint64_t mask = 0;
        int steps = 0;
        int64_t finished = 0;

        for (size_t i = 0; i < seen->count; i++) {
            const struct step_event *e = &seen->events[i];
            if (e->train == train) {
                mask |= e->cpu_mask;
                steps++;
                finished = e->end_us - seen->start_us;
            }
        }
        format_cpus(mask, cpus, sizeof cpus);
        printf("%s%s: %c took %d steps on cpus %s, done at %.0f ms%s\n",
               color_worker(STDOUT_FILENO, train), name, 'A' + train, steps,
               cpus, (double)finished / 1000.0, color_end(STDOUT_FILENO));
    }

    /* the order the steps finished in: "A1 B1 A2 ..." */
    printf("%s: order=", name);
    for (size_t i = 0; i < seen->count; i++)
        printf("%s%c%d", i > 0 ? " " : "", 'A' + seen->events[i].train,
               seen->events[i].step);
    printf("\n");

    format_cpus(cpus_seen(seen), cpus, sizeof cpus);
    printf("%s: cpus=%s\n", name, cpus);

    int64_t cpu_us;
    double busy = busy_cpus(seen, &cpu_us);
    printf("%s: busy=%.2f CPUs (%.0f ms of CPU work in %.0f ms)\n", name,
           busy, (double)cpu_us / 1000.0,
           (double)(seen->end_us - seen->start_us) / 1000.0);
    printf("%s: at-once=%d (the most trains running at the same instant)\n",
           name, trains_at_once(seen));
    if (seen->preempted >= 0)
        printf("%s: preempted=%ld\n", name, seen->preempted);
    printf("%s: global before=%d after=%d (trains A..%c set it to "
           "1..%ld)\n", name, seen->global_before, seen->global_after,
           (int)('A' + trains - 1), trains);
}

/* The tutorial's table of the three models, filled in from this run. */
static void print_table(const struct observation seen[MODEL_COUNT])
{
    static const char *const switching[] = {
        "preemptive", "cooperative", "preemptive"
    };
    static const char *const decider[] = {
        "the operating system", "the task, at each yield",
        "the operating system"
    };
    static const char *const in_python[] = { "one", "one", "many" };

    printf("\n%-10s %-12s %-12s %-24s %s\n", "model", "CPUs at once",
           "switching", "who decides the switch", "Python");
    for (int m = 0; m < MODEL_COUNT; m++) {
        char cpus[256];
        char column[300];

        if (!seen[m].done)
            continue;
        format_cpus(cpus_seen(&seen[m]), cpus, sizeof cpus);
        snprintf(column, sizeof column, "%d (%s)", trains_at_once(&seen[m]),
                 cpus);
        printf("%-10s %-12s %-12s %-24s %s\n", model_names[m], column,
               switching[m], decider[m], in_python[m]);
    }
}

int observations_finish(struct observation seen[MODEL_COUNT],
                        const struct timer *timer)
{
    size_t steps_done = 0, steps_asked = 0;
    int failed = 0;

    for (int m = 0; m < MODEL_COUNT; m++) {
        steps_asked += seen[m].capacity;    /* 0: a model not asked for */
        steps_done += seen[m].count;
        failed += seen[m].failed;
    }
    print_table(seen);
    interrupt_report(steps_done, steps_asked, "steps");
    timer_print(timer);

    for (int m = 0; m < MODEL_COUNT; m++)
        free(seen[m].events);
    if (trace_close() != 0)
        return EXIT_WORK_FAILED;
    if (interrupt_requested())
        return interrupt_exit_status();
    return failed == 0 ? 0 : EXIT_WORK_FAILED;
}
/* SPDX-License-Identifier: MIT */
