/* deadlines.c -- a binary min-heap of deadlines (struct deadline), for
 * sitesim's delayed connections.
 *
 * The next one due is always slots[0]; adding and removing cost
 * O(log n), so thousands of pending delays are cheap. The array is
 * made at init with room for one timer per possible connection, so
 * adding never fails. conn.c adds and removes; this file calls nothing.
 * (common/loop.c has a heap of its own timers; scripts/sitesim/README
 * says why sitesim does not use it.)
 */
#include <stdlib.h>

#include "deadlines.h"

int deadline_heap_init(struct deadline_heap *heap, size_t capacity)
{
    heap->slots = calloc(capacity, sizeof(*heap->slots));
    heap->count = 0;
    heap->capacity = capacity;
    return heap->slots == NULL ? -1 : 0;
}

void deadline_heap_free(struct deadline_heap *heap)
{
    free(heap->slots);
    heap->slots = NULL;
    heap->count = heap->capacity = 0;
}

static void deadline_swap(struct deadline_heap *heap, size_t a, size_t b)
{
    struct deadline *t = heap->slots[a];

    heap->slots[a] = heap->slots[b];
    heap->slots[b] = t;
    heap->slots[a]->index = a;
    heap->slots[b]->index = b;
}

static void deadline_sift_up(struct deadline_heap *heap, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap->slots[parent]->due_us <= heap->slots[i]->due_us)
            break;
        deadline_swap(heap, parent, i);
        i = parent;
    }
}

static void deadline_sift_down(struct deadline_heap *heap, size_t i)
{
    for (;;) {
        size_t left = 2 * i + 1, right = left + 1, least = i;
        if (left < heap->count &&
            heap->slots[left]->due_us < heap->slots[least]->due_us)
            least = left;
        if (right < heap->count &&
            heap->slots[right]->due_us < heap->slots[least]->due_us)
            least = right;
        if (least == i)
            return;
        deadline_swap(heap, i, least);
        i = least;
    }
}

void deadline_add(struct deadline_heap *heap, struct deadline *t)
{
    t->armed = true;
    t->index = heap->count++;
    heap->slots[t->index] = t;
    deadline_sift_up(heap, t->index);
}

void deadline_remove(struct deadline_heap *heap, struct deadline *t)
{
    size_t i = t->index;

    t->armed = false;
    heap->count--;
    if (i == heap->count)
        return;  /* it was the last entry */
    deadline_swap(heap, i, heap->count);
    deadline_sift_down(heap, i);
    deadline_sift_up(heap, i);
}

struct deadline *deadline_first(const struct deadline_heap *heap)
{
    return heap->count > 0 ? heap->slots[0] : NULL;
}
/* SPDX-License-Identifier: MIT */
