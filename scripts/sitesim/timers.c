/* timers.c -- sitesim's delayed connections, in a binary min-heap on
 * wake_at_us.
 *
 * The next one due is always timers[0]; adding and removing cost
 * O(log n), so thousands of pending delays are cheap. The array has
 * room for one entry per possible fd, so adding never fails.
 * conn.c adds and removes; the loop in sitesim.c asks for the first.
 * This file calls nothing.
 */
#include "sitesim.h"

static void timer_swap(struct server *s, size_t a, size_t b)
{
    struct conn *t = s->timers[a];

    s->timers[a] = s->timers[b];
    s->timers[b] = t;
    s->timers[a]->heap_index = a;
    s->timers[b]->heap_index = b;
}

static void timer_sift_up(struct server *s, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (s->timers[parent]->wake_at_us <= s->timers[i]->wake_at_us)
            break;
        timer_swap(s, parent, i);
        i = parent;
    }
}

static void timer_sift_down(struct server *s, size_t i)
{
    for (;;) {
        size_t left = 2 * i + 1, right = left + 1, least = i;
        if (left < s->timer_count &&
            s->timers[left]->wake_at_us < s->timers[least]->wake_at_us)
            least = left;
        if (right < s->timer_count &&
            s->timers[right]->wake_at_us < s->timers[least]->wake_at_us)
            least = right;
        if (least == i)
            return;
        timer_swap(s, i, least);
        i = least;
    }
}

void timer_add(struct server *s, struct conn *c)
{
    c->timer_armed = true;
    c->heap_index = s->timer_count++;
    s->timers[c->heap_index] = c;
    timer_sift_up(s, c->heap_index);
}

void timer_remove(struct server *s, struct conn *c)
{
    size_t i = c->heap_index;

    c->timer_armed = false;
    s->timer_count--;
    if (i == s->timer_count)
        return;  /* it was the last entry */
    timer_swap(s, i, s->timer_count);
    timer_sift_down(s, i);
    timer_sift_up(s, i);
}

/* The connection due first, or NULL when none waits. */
struct conn *timer_first(const struct server *s)
{
    return s->timer_count > 0 ? s->timers[0] : NULL;
}
