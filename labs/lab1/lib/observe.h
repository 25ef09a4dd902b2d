/* observe.h -- how lab 1 watches its trains: each step's CPU time and
 * CPUs sampled while it runs, the observation of a whole run, and the
 * lines and table that report it (observe.c).
 *
 * None of this is the lesson: models.c runs the trains as threads, tasks
 * and processes and calls take_step() for every step; this file only
 * measures and prints what happened.
 */
#ifndef LAB1_OBSERVE_H
#define LAB1_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "timer.h"

#define MAX_CPUS 64             /* CPU numbers a step's cpu_mask holds */
#define MAX_RUNS 16             /* stretches on a CPU kept per step */

enum model { MODEL_THREADS, MODEL_TASKS, MODEL_PROCESSES, MODEL_COUNT };

/* "threads", "tasks", "processes", NULL: indexed by enum model */
extern const char *const model_names[];

/* A stretch of time in which a train really had a CPU. */
struct cpu_run {
    int64_t start_us;           /* program_us() of its first sample */
    int64_t end_us;             /* program_us() of its last sample */
};

/* One step of one train, as it was observed. */
struct step_event {
    int train;                  /* 0 for A, 1 for B, ... */
    int step;                   /* 1, 2, ... */
    uint64_t cpu_mask;          /* bit N set: the step ran on CPU N */
    int64_t start_us;           /* program_us() as the step began */
    int64_t end_us;             /* program_us() as the step ended */
    int64_t cpu_time_us;        /* CPU time the step really used */
    int run_count;              /* stretches in runs[] */
    struct cpu_run runs[MAX_RUNS];  /* when it really ran: the first
                                       MAX_RUNS stretches */
};

/* What one model's run of the trains observed. */
struct observation {
    enum model model;           /* which way the trains ran */
    bool done;                  /* this model was run */
    struct step_event *events;  /* in the order the steps finished */
    size_t count;               /* events recorded */
    size_t capacity;            /* trains x steps: the steps asked for */
    int64_t start_us;           /* program_us() before the first train */
    int64_t end_us;             /* program_us() after the last one */
    long preempted;             /* involuntary context switches; -1: not
                                   measured */
    int global_before;          /* global_value before the trains ran */
    int global_after;           /* global_value after they all finished */
    int failed;                 /* trains that did not finish */
};

/* Take one step of train (0 for A) as the same CPU work in every model:
 * spin until this thread has used work_us of CPU time, noting each CPU
 * it ran on and each stretch it really had one. */
struct step_event take_step(int train, int step, int64_t work_us);

/* Involuntary context switches of this thread or process so far
 * (getrusage's RUSAGE_THREAD or RUSAGE_SELF): the times the OS took the
 * CPU away without being asked. */
long involuntary_switches(int who);

/* Wait for train's child process pid (no zombie is left), add how often
 * the kernel preempted it (wait4's rusage) to seen->preempted, and count
 * the train failed, said on stderr, unless it exited 0. */
void observation_reap(struct observation *seen, int train, pid_t pid);

/* ====== Around one model's run ====== */

/* Before a model runs: an empty observation with room for trains x steps
 * steps, and its start time.  Exits 1 when out of memory. */
void observation_start(struct observation *seen, enum model model,
                       long trains, long steps);

/* Keep one step (from any thread: the caller holds the lock threads
 * share). */
void observation_add(struct observation *seen,
                     const struct step_event *event);

/* After it ran: its end time, a --trace row per step taken (numbered
 * from *trace_id on) and, after an interrupt, a `cancelled` row for
 * every step not taken. */
void observation_finish(struct observation *seen, long trains, long steps,
                        long *trace_id);

/* A model Ctrl-C kept from starting: a `cancelled` row for each of its
 * trains x steps steps (and they count as asked for in the summary). */
void observation_skip(struct observation *seen, enum model model,
                      long trains, long steps, long *trace_id);

/* ====== Reporting ====== */

/* What one model's run showed: a line per train (unless quiet), then
 *     threads: order=A1 B1 A2 ...   cpus=0,1   busy=1.93 CPUs ...
 *     threads: at-once=2 ...        preempted=...  global before/after */
void print_observation(const struct observation *seen, long trains,
                       bool quiet);

/* The end of main(): the table, after an interrupt interrupt_report()'s
 * line (steps taken of the steps asked for), the timer's line; frees the
 * events and closes the trace.  Returns main()'s exit status: 1 when the
 * trace could not be written, else 130/143 after an interrupt, else 1
 * when a train failed, else 0. */
int observations_finish(struct observation seen[MODEL_COUNT],
                        const struct timer *timer);

#endif
/* SPDX-License-Identifier: MIT */
