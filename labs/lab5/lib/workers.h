/* workers.h -- the bookkeeping of io_fork's pool of worker processes:
 * the records on the pipes, the parent's view of each worker, and what
 * the parent does with a result, a dead worker or Ctrl-C (workers.c).
 *
 * The lesson -- fork(), the pipes, reaping, one poll() over every
 * worker -- stays in io_fork.c; it calls these in one line each.
 */
#ifndef LAB5_WORKERS_H
#define LAB5_WORKERS_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "io_options.h"
#include "sites.h"

#define MAX_WORKERS 256
#define STOP_SIGNAL SIGUSR1     /* parent -> worker: abandon your download */
#define STOP_GRACE_MS 3000      /* then a worker still there is killed */

/* ====== The messages on the pipes ======
 *
 * Every message is a fixed-size struct, sent with pipe_write_all() and
 * read with pipe_read_exact() (common/pipe.h).  POSIX makes a write of at
 * most PIPE_BUF bytes (4096 on Linux) to a pipe atomic: its bytes land in the
 * pipe all together or not at all, never split and never mixed with
 * another write.  So the pipe always holds whole records, a read of one
 * record's size returns one whole record, and a worker killed in the
 * middle of a write() leaves either its whole record or nothing -- never
 * half a record for the parent to misread.
 *
 * Both processes hold the same site list (fork copied it), so a job
 * only needs the index of the URL, not the URL itself. */

struct job_record {             /* parent -> worker: "download this" */
    uint32_t index;             /* index into sites->urls */
};

struct download_record {        /* worker -> parent: "this is how it went" */
    uint32_t index;             /* the job's index */
    uint32_t ok;                /* 1: downloaded, 0: failed */
    uint32_t cancelled;         /* 1: abandoned when told to stop */
    uint64_t bytes;             /* body bytes received */
    int64_t start_us;           /* program_us() when the download began */
    int64_t end_us;             /* program_us() when it ended */
    char error[224];            /* "HTTP 503" or curl's error text */
};

_Static_assert(sizeof(struct job_record) <= PIPE_BUF,
               "a job must fit in one atomic pipe write");
_Static_assert(sizeof(struct download_record) <= PIPE_BUF,
               "a result must fit in one atomic pipe write");

/* ====== The parent's view of the pool ====== */

struct worker {
    int number;                 /* K of ForkProcess-K: 1 .. workers */
    pid_t pid;                  /* its process id; 0 once reaped */
    int job_fd;                 /* write end of its job pipe, -1: closed */
    int result_fd;              /* read end of its result pipe, -1: gone */
    long current;               /* index it is downloading, -1: none */
    int64_t handed_us;          /* program_us() when current was handed */
};

struct pool {
    const struct io_settings *settings;    /* read-only */
    const struct site_list *sites;      /* read-only */
    struct worker *workers;     /* started workers, [0] is ForkProcess-1 */
    long started;               /* how many were started */
    long alive;                 /* how many have not been reaped yet */
    size_t next;                /* next index never handed out */
    size_t done;                /* downloads that succeeded */
    size_t failed;              /* downloads that failed or were lost */
    size_t bytes;               /* body bytes of the successful ones */
    bool worker_failed;         /* a worker died or exited badly */
    bool stopping;              /* interrupted: the workers were told */
    int64_t stop_us;            /* program_us() when they were told */
};

/* io_fork's command line: the I/O labs' options, --workers (one per CPU
 * by default, at most MAX_WORKERS).  Bad usage ends the program. */
void workers_parse_options(int argc, char *argv[],
                           struct io_settings *settings);

/* Count, print and trace one finished download. */
void pool_record_result(struct pool *pool, const struct worker *worker,
                        const struct download_record *result);

/* A worker was reaped with this wait status: say how it ended (unless
 * we stopped it), and fail the download it held and, when it was the
 * last worker, every download never handed out. */
void pool_account_gone(struct pool *pool, struct worker *worker, int status);

/* Starting worker k failed (errno says why): carry on with the k we
 * have, or, with none, count every download failed. */
void pool_start_failed(struct pool *pool, long k);

/* The first SIGINT/SIGTERM: stop handing out work, close every job pipe
 * (an idle worker sees end of file and exits) and send STOP_SIGNAL to
 * every worker, which abandons its download and sends it back. */
void pool_stop_workers(struct pool *pool);

/* SIGKILL to every worker not reaped yet (still there STOP_GRACE_MS
 * after being told: stuck where libcurl does not call back). */
void pool_kill_stragglers(struct pool *pool);

/* The downloads never handed out get their trace rows: cancelled (we
 * were interrupted) or, with no worker at all, failed. */
void pool_trace_never_handed(struct pool *pool);

#endif
/* SPDX-License-Identifier: MIT */
