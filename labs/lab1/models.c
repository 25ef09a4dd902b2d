/* models.c -- the same trains of thought run as threads, tasks, processes.
 *
 * A "train of thought" is a sequence of steps that runs in order and can
 * be paused between (or inside) them.  Here each train (A, B, C, ...)
 * takes a few steps, each a short burst of CPU work, and notes which CPU
 * ran the step and when.  The program runs the same trains three ways
 * and reports what it saw:
 *
 *   threads    one pthread per train.  The operating system decides which
 *              thread runs, on which CPU, and may stop one at any moment.
 *   tasks      one cooperative task per train on the kit's event loop, all
 *              in one thread.  A task runs until it yields; only then does
 *              the next task get to run.
 *   processes  one fork()ed child per train.  They run in parallel like the
 *              threads, but each child has its own copy of the memory.
 *
 * It ends with the tutorial's table of the three models, filled in from
 * what this run measured.
 *
 * Run:    make lab1 && ./models
 *         ./models --only tasks       (twice: the order never changes)
 *         ./models --only threads     (twice: the order changes)
 *
 * Watch:  the threads' order differs from run to run and they use several
 *         CPUs at once; the tasks always go A1 B1 C1 A2 B2 C2 ... on one
 *         CPU at a time; a global variable each child sets is still 0 in
 *         the parent afterwards.
 *
 * Compare with labs/lab6 (cpu_threads.c, cpu_async.c, cpu_fork.c), which
 * run real CPU-bound jobs these three ways and time them.
 */
#define _GNU_SOURCE             /* sched_getcpu, RUSAGE_THREAD */

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "color.h"
#include "error.h"
#include "task.h"
#include "options.h"
#include "pipe.h"
#include "timer.h"
#include "trace.h"

#define MAX_TRAINS 26           /* trains are named A to Z */
#define MAX_STEPS 1000          /* --steps upper bound */
#define MAX_CPUS 64             /* CPU numbers a step's cpu_mask holds */
#define MAX_RUNS 16             /* stretches on a CPU kept per step */
#define GAP_US 20               /* off the CPU for longer: a new stretch */

enum model { MODEL_THREADS, MODEL_TASKS, MODEL_PROCESSES, MODEL_COUNT };

static const char *const model_names[] = {
    "threads", "tasks", "processes", NULL
};

struct settings {
    long steps;                 /* --steps: steps per train */
    long trains;                /* --trains: how many trains, A, B, ... */
    long work_ms;               /* --work-ms: CPU time of one step */
    int only;                   /* --only: one enum model, or -1: all */
    bool quiet;                 /* --quiet: summary lines only */
    const char *trace;          /* --trace: CSV file, or NULL */
};

/* A stretch of time in which a train really had a CPU. */
struct cpu_run {
    int64_t start_us;           /* program_us() of its first sample */
    int64_t end_us;             /* program_us() of its last sample */
};

/* One step of one train, as it was observed. */
struct step_event {
    int train;                  /* 0 for A, 1 for B, ... */
    int step;                   /* 1, 2, ... */
    int cpu;                    /* sched_getcpu() as the step ended */
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

/* One variable that every train writes its number (A = 1, B = 2, ...)
 * into when it finishes.  Threads and tasks share it; each fork()ed
 * process writes to its own copy. */
static int global_value;

/* The threads record their steps into one observation, and write
 * global_value: both are shared, so both are touched under this lock. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

static void usage(void)
{
    printf("usage: models [options]\n"
           "Run the same trains of thought as threads, as cooperative "
           "tasks and as\nprocesses; show who ran when, on which CPU.\n\n"
           "  --steps N             steps per train (5)\n"
           "  --trains N            number of trains, 1 to %d (3)\n"
           "  --work-ms N           CPU work per step in ms (10)\n"
           "  --only MODEL          run one model: threads, tasks or "
           "processes (all)\n"
           "  --trace FILE          write one CSV row per step\n"
           "  --color WHEN          colour: auto, always, never (auto)\n"
           "  -q, --quiet           print only the summary lines\n"
           "  -h, --help            show this help\n", MAX_TRAINS);
}

static void parse_options(int argc, char *argv[], struct settings *settings)
{
    static const struct option options[] = {
        { "steps", required_argument, NULL, 's' },
        { "trains", required_argument, NULL, 'n' },
        { "work-ms", required_argument, NULL, 'w' },
        { "only", required_argument, NULL, 'o' },
        { "trace", required_argument, NULL, 'T' },
        { "color", required_argument, NULL, 'C' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *settings = (struct settings){
        .steps = 5, .trains = 3, .work_ms = 10, .only = -1,
    };
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":qh", options, NULL)) != -1) {
        switch (c) {
        case 's':
            settings->steps = option_long("--steps", optarg, 1, MAX_STEPS);
            break;
        case 'n':
            settings->trains = option_long("--trains", optarg, 1,
                                           MAX_TRAINS);
            break;
        case 'w':
            settings->work_ms = option_long("--work-ms", optarg, 1, 1000);
            break;
        case 'o':
            settings->only = option_choice("--only", optarg, model_names);
            break;
        case 'T': settings->trace = optarg; break;
        case 'C':
            color_set_mode(option_choice("--color", optarg, color_modes));
            break;
        case 'q': settings->quiet = true; break;
        case 'h': usage(); exit(0);
        default: option_unknown(argv);
        }
    }
    option_no_operands(argc, argv);
}

/* ====== One step of a train: the same code in all three models ====== */

/* CPU time this thread has used, in microseconds.  Unlike the wall
 * clock, it stands still while the thread waits for a CPU. */
static int64_t thread_cpu_us(void)
{
    struct timespec now;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/* Note the CPU this thread is running on right now in *mask; return it
 * (-1 if the kernel cannot say). */
static int note_cpu(uint64_t *mask)
{
    int cpu = sched_getcpu();

    if (cpu >= 0 && cpu < MAX_CPUS)
        *mask |= UINT64_C(1) << cpu;
    return cpu;
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
static struct step_event take_step(int train, int step, int64_t work_us)
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
    event.cpu = note_cpu(&event.cpu_mask);
    event.end_us = program_us();
    event.cpu_time_us = cpu_now - cpu_start;
    return event;
}

/* Involuntary context switches of this thread or process so far: the
 * times the OS took the CPU away without being asked. */
static long involuntary_switches(int who)
{
    struct rusage usage;

    if (getrusage(who, &usage) != 0)
        return 0;
    return usage.ru_nivcsw;
}

static int observation_init(struct observation *seen, enum model model,
                            const struct settings *settings)
{
    *seen = (struct observation){ .model = model, .preempted = -1 };
    seen->capacity = (size_t)(settings->trains * settings->steps);
    seen->events = calloc(seen->capacity, sizeof *seen->events);
    return seen->events == NULL ? -1 : 0;
}

static void observation_add(struct observation *seen,
                            const struct step_event *event)
{
    if (seen->count < seen->capacity)
        seen->events[seen->count++] = *event;
}

/* ====== Model 1: threads, switched by the operating system ====== */

struct thread_train {
    pthread_t thread;           /* the pthread running this train */
    int train;                  /* 0 for A, ... */
    const struct settings *settings;    /* read only: safe to share */
    struct observation *seen;   /* shared by every thread: take the lock */
    long preempted;             /* this thread's involuntary switches */
};

static void lock_shared(void)
{
    int s = pthread_mutex_lock(&shared_lock);
    if (s != 0)                 /* pthreads return the error, no errno */
        error_fatal_errno(s, "pthread_mutex_lock");
}

static void unlock_shared(void)
{
    int s = pthread_mutex_unlock(&shared_lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
}

static void *run_thread_train(void *arg)
{
    struct thread_train *me = arg;
    int64_t work_us = me->settings->work_ms * 1000;

    /* No yield anywhere: the OS may stop this loop at any instruction
     * and run another thread, here or on the other CPU. */
    for (int step = 1; step <= me->settings->steps; step++) {
        struct step_event event = take_step(me->train, step, work_us);

        lock_shared();
        observation_add(me->seen, &event);
        unlock_shared();
    }
    lock_shared();
    global_value = me->train + 1;       /* the one copy every thread sees */
    unlock_shared();
    me->preempted = involuntary_switches(RUSAGE_THREAD);
    return NULL;
}

static void run_threads(const struct settings *settings,
                        struct observation *seen)
{
    struct thread_train trains[MAX_TRAINS];
    int s;

    for (int i = 0; i < settings->trains; i++) {
        trains[i] = (struct thread_train){
            .train = i, .settings = settings, .seen = seen,
        };
        s = pthread_create(&trains[i].thread, NULL, run_thread_train,
                           &trains[i]);
        if (s != 0)
            error_fatal_errno(s, "pthread_create");
    }
    seen->preempted = 0;
    for (int i = 0; i < settings->trains; i++) {
        s = pthread_join(trains[i].thread, NULL);
        if (s != 0)
            error_fatal_errno(s, "pthread_join");
        seen->preempted += trains[i].preempted;
    }
}

/* ====== Model 2: cooperative tasks, switched only where they yield ====== */

struct task_train {
    int train;                  /* 0 for A, ... */
    int step;                   /* the step in progress: kept here, since a
                                   task's locals do not survive a yield */
    const struct settings *settings;    /* steps and work per step */
    struct observation *seen;   /* one thread: no lock needed */
};

static int run_task_train(struct task *task)
{
    struct task_train *me = task->state;
    int64_t work_us = me->settings->work_ms * 1000;

    TASK_BEGIN(task);
    for (me->step = 1; me->step <= me->settings->steps; me->step++) {
        struct step_event event = take_step(me->train, me->step, work_us);

        observation_add(me->seen, &event);
        TASK_YIELD(task);       /* the only place another train can run */
    }
    global_value = me->train + 1;       /* shared, but no one else runs
                                           until this task yields again */
    TASK_END(task);
}

static void run_tasks(const struct settings *settings,
                      struct observation *seen)
{
    struct task_train trains[MAX_TRAINS];
    struct loop *loop = loop_create();

    if (loop == NULL)
        error_fatal("cannot make the event loop: %s", strerror(errno));
    for (int i = 0; i < settings->trains; i++) {
        trains[i] = (struct task_train){
            .train = i, .settings = settings, .seen = seen,
        };
        if (task_spawn(loop, run_task_train, &trains[i], i) == NULL)
            error_fatal("cannot start task %c: out of memory", 'A' + i);
    }
    loop_run(loop);             /* returns when every task has finished */
    loop_free(loop);
}

/* ====== Model 3: processes, each with its own memory ====== */

/* The child's side: take the steps, send each one up the pipe, and leave
 * with _exit() -- exit() would flush a copy of the parent's stdio
 * buffers (the trace file) a second time. */
static void run_process_train(int train, const struct settings *settings,
                              int write_fd)
{
    int64_t work_us = settings->work_ms * 1000;

    for (int step = 1; step <= settings->steps; step++) {
        struct step_event event = take_step(train, step, work_us);

        /* one event is far below PIPE_BUF, so the write is atomic: the
         * children's events never mix inside the pipe */
        if (pipe_write_all(write_fd, &event, sizeof event) != 0) {
            error_report("train %c: cannot write to the pipe: %s",
                         'A' + train, strerror(errno));
            _exit(1);
        }
    }
    global_value = train + 1;   /* changes this child's copy only */
    _exit(0);
}

static void run_processes(const struct settings *settings,
                          struct observation *seen)
{
    pid_t children[MAX_TRAINS];
    int fds[2];
    int started = 0;

    if (pipe(fds) != 0)
        error_fatal("cannot make a pipe: %s", strerror(errno));
    fflush(NULL);               /* nothing buffered to be copied */
    for (int i = 0; i < settings->trains; i++) {
        pid_t pid = fork();

        if (pid < 0) {
            error_report("cannot fork train %c: %s", 'A' + i,
                         strerror(errno));
            seen->failed += (int)settings->trains - i;
            break;
        }
        if (pid == 0) {         /* the child */
            close(fds[0]);
            run_process_train(i, settings, fds[1]);     /* never returns */
        }
        children[started++] = pid;
    }
    close(fds[1]);      /* now end of file comes when the children exit */

    struct step_event event;
    int got;
    while ((got = pipe_read_exact(fds[0], &event, sizeof event)) == 1)
        observation_add(seen, &event);
    if (got < 0)
        error_report("cannot read the children's pipe: %s",
                     strerror(errno));
    close(fds[0]);

    /* Reap every child (no zombies), and ask the kernel how often each
     * one was preempted. */
    seen->preempted = 0;
    for (int i = 0; i < started; i++) {
        struct rusage usage;
        int status;
        pid_t pid;

        while ((pid = wait4(children[i], &status, 0, &usage)) < 0
               && errno == EINTR)
            ;
        if (pid < 0) {
            error_report("cannot wait for train %c: %s", 'A' + i,
                         strerror(errno));
            seen->failed++;
            continue;
        }
        seen->preempted += usage.ru_nivcsw;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            error_report("train %c: the process failed", 'A' + i);
            seen->failed++;
        }
    }
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

static void print_observation(const struct observation *seen,
                              const struct settings *settings)
{
    const char *name = model_names[seen->model];
    char cpus[256];

    /* one line per train: where its steps ran, when it finished */
    for (int train = 0; !settings->quiet && train < settings->trains;
         train++) {
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
           (int)('A' + settings->trains - 1), settings->trains);
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

/* Run the trains one way, and write a trace row per step. */
static void run_model(enum model model, const struct settings *settings,
                      struct observation *seen, long *trace_id)
{
    if (observation_init(seen, model, settings) != 0)
        error_fatal("out of memory");
    global_value = 0;
    seen->global_before = global_value;
    seen->start_us = program_us();
    switch (model) {
    case MODEL_THREADS: run_threads(settings, seen); break;
    case MODEL_TASKS: run_tasks(settings, seen); break;
    case MODEL_PROCESSES: run_processes(settings, seen); break;
    case MODEL_COUNT: break;
    }
    seen->end_us = program_us();
    seen->global_after = global_value;      /* every train is done now */
    seen->done = true;

    for (size_t i = 0; i < seen->count; i++) {
        const struct step_event *e = &seen->events[i];
        char label[64];

        snprintf(label, sizeof label, "%s:%c step %d", model_names[model],
                 'A' + e->train, e->step);
        trace_record((*trace_id)++, e->train, label, e->start_us,
                     e->end_us, "ok");
    }
}

int main(int argc, char *argv[])
{
    struct settings settings;
    struct observation seen[MODEL_COUNT] = { 0 };
    struct timer timer;
    long trace_id = 0;
    int failed = 0;

    error_init(argv[0]);
    parse_options(argc, argv, &settings);
    if (settings.trace != NULL)
        trace_open(settings.trace);

    timer_start(&timer);
    for (int m = 0; m < MODEL_COUNT; m++) {
        if (settings.only >= 0 && settings.only != m)
            continue;
        run_model((enum model)m, &settings, &seen[m], &trace_id);
        print_observation(&seen[m], &settings);
        failed += seen[m].failed;
    }
    print_table(seen);
    timer_print(&timer);

    for (int m = 0; m < MODEL_COUNT; m++)
        free(seen[m].events);
    if (trace_close() != 0)
        return EXIT_WORK_FAILED;
    return failed == 0 ? 0 : EXIT_WORK_FAILED;
}
