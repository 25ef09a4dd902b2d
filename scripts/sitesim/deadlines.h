/* deadlines.h -- a binary min-heap of deadlines (deadlines.c): conn.c
 * keeps its delayed connections here. A leaf: it knows nothing of
 * connections; each embeds a struct deadline, and conn.c gets from the
 * deadline back to its connection (offsetof, as the kernel's
 * container_of does).
 */
#ifndef SITESIM_DEADLINES_H
#define SITESIM_DEADLINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One deadline, inside whatever waits for it. */
struct deadline {
    int64_t due_us;             /* when (monotonic_us()) */
    size_t index;               /* its place in the heap */
    bool armed;                 /* in the heap now */
};

/* The heap: the next timer due is always slots[0]. */
struct deadline_heap {
    struct deadline **slots;       /* capacity entries, count used */
    size_t count;               /* timers armed */
    size_t capacity;            /* made at init: adding never fails */
};

/* Room for capacity timers. 0, or -1 when out of memory. */
int deadline_heap_init(struct deadline_heap *heap, size_t capacity);
void deadline_heap_free(struct deadline_heap *heap);

/* Arm t (set t->due_us first); the heap must have room. O(log n). */
void deadline_add(struct deadline_heap *heap, struct deadline *t);

/* Disarm an armed t. O(log n). */
void deadline_remove(struct deadline_heap *heap, struct deadline *t);

/* The timer due first, or NULL when none is armed. */
struct deadline *deadline_first(const struct deadline_heap *heap);

#endif
/* SPDX-License-Identifier: MIT */
