/* pipe.c -- whole records over a pipe; see pipe.h. */
#include "pipe.h"

#include <errno.h>
#include <unistd.h>

int pipe_write_all(int fd, const void *buffer, size_t size)
{
    const char *next = buffer;

    while (size > 0) {
        ssize_t written = write(fd, next, size);
        if (written < 0) {
            if (errno == EINTR)
                continue;       /* a signal came first: try again */
            return -1;
        }
        next += written;
        size -= (size_t)written;
    }
    return 0;
}

int pipe_read_exact(int fd, void *buffer, size_t size)
{
    char *next = buffer;
    size_t got = 0;

    while (got < size) {
        ssize_t n = read(fd, next + got, size - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;       /* a signal came first: try again */
            return -1;
        }
        if (n == 0) {           /* end of file: every writer closed */
            if (got == 0)
                return 0;
            errno = EPROTO;     /* ... in the middle of a record */
            return -1;
        }
        got += (size_t)n;
    }
    return 1;
}
/* SPDX-License-Identifier: MIT */
