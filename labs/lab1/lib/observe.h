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
    size_t capacity;            /* trains x steps */
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

/* An empty observation with room for capacity steps; 0, or -1 when out
 * of memory.  observation_add() keeps one step; the caller frees
 * seen->events. */
int observation_init(struct observation *seen, enum model model,
                     size_t capacity);
void observation_add(struct observation *seen,
                     const struct step_event *event);

/* One --trace row per step, numbered from *trace_id on. */
void observation_trace(const struct observation *seen, long *trace_id);

/* Interrupted: a `cancelled` row for every step of trains x steps that
 * seen did not take (seen->count may be 0: a model never started). */
void observation_trace_cancelled(const struct observation *seen,
                                 long trains, long steps, long *trace_id);

/* What one model's run showed: a line per train (unless quiet), then
 *     threads: order=A1 B1 A2 ...   cpus=0,1   busy=1.93 CPUs ...
 *     threads: at-once=2 ...        preempted=...  global before/after */
void print_observation(const struct observation *seen, long trains,
                       bool quiet);

/* The tutorial's table of the three models, filled in from this run. */
void print_table(const struct observation seen[MODEL_COUNT]);

#endif
