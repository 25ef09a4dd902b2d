/* pipe.h -- whole records over a pipe: write all of one, read exactly one.
 *
 * Every forking program (models, io_fork, cpu_fork) talks to its children
 * through pipes in fixed-size records.  A write() or read() may move fewer
 * bytes than asked, or be interrupted by a signal (EINTR) before it moves
 * any; these two loops resume until the whole record has moved, and tell
 * "the writer closed its end" (end of file) apart from an error:
 *
 *     struct job_record job;
 *     int got = pipe_read_exact(fd, &job, sizeof job);
 *     -> 1: job filled in;  0: end of file, no writer left;
 *        -1: an error, or a record cut short (errno EPROTO)
 *
 * A record of at most PIPE_BUF bytes (4096 on Linux) is written by the
 * kernel all at once: records from several writers never mix in a pipe.
 */
#ifndef CONKIT_PIPE_H
#define CONKIT_PIPE_H

#include <stddef.h>

/* Write all size bytes of buffer to fd, resuming after signals.
 * Returns 0, or -1 with errno set (EPIPE: no reader left). */
int pipe_write_all(int fd, const void *buffer, size_t size);

/* Read exactly size bytes from fd into buffer, resuming after signals.
 * Returns 1 when they all came, 0 at end of file before the first byte,
 * -1 with errno set on an error or at end of file inside the record
 * (errno EPROTO: the writer died half-way). */
int pipe_read_exact(int fd, void *buffer, size_t size);

#endif
/* SPDX-License-Identifier: MIT */
