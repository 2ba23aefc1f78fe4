/*
 * The best-effort group cap (see struct rt_group in rt_sched.h): one budget
 * per fixed window for a whole set of best-effort threads, such as the
 * Linux partition, so that together they never take more than their share.
 *
 * Windows are aligned to the configuration time and never move, so the cap
 * holds over any run of whole windows: over windows 0..k-1 the group gets at
 * most k * budget plus one timer latency, because whatever a late timer let
 * the group overrun is carried as debt into the next window.
 */
#include "rt_sched.h"

#include "abi/errors.h"

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > RT_NEVER - b ? RT_NEVER : a + b;
}

int rt_group_configure(struct rt_group *g, uint64_t budget, uint64_t period, uint64_t now)
{
    if (period == 0 || budget == 0 || budget > period) return ABI_E_INVALID_ARG;
    if (now > RT_NEVER - period) return ABI_E_INVALID_ARG;
    bool running = g->running;
    *g = (struct rt_group){0};
    g->period = period;
    g->budget = budget;
    g->window_start = now;
    g->last_now = now;
    g->run_since = now;
    g->running = running;
    g->enabled = true;
    return ABI_E_OK;
}

void rt_group_disable(struct rt_group *g)
{
    g->enabled = false;
}

/* Move to the window that contains `t` (t >= the current window's end),
 * paying the debt off at one budget per window passed. */
static void roll(struct rt_group *g, uint64_t t)
{
    uint64_t k = (t - g->window_start) / g->period;
    g->window_start += k * g->period;
    g->used = g->used / g->budget >= k ? g->used - k * g->budget : 0;
}

/* Charge running time up to `until`, split at window boundaries. */
static void charge(struct rt_group *g, uint64_t until)
{
    for (;;) {
        uint64_t wend = add_sat(g->window_start, g->period);
        if (until < wend) break;
        if (g->running && g->run_since < wend) {
            g->used += wend - g->run_since;
            g->run_since = wend;
        }
        roll(g, g->running ? wend : until);
    }
    if (g->running && until > g->run_since) {
        g->used += until - g->run_since;
        g->run_since = until;
    }
}

static uint64_t update(struct rt_group *g, uint64_t now)
{
    if (now < g->last_now) now = g->last_now;
    g->last_now = now;
    if (g->enabled) charge(g, now);
    return now;
}

void rt_group_start_running(struct rt_group *g, uint64_t now)
{
    now = update(g, now);
    g->running = true;
    g->run_since = now;
}

void rt_group_stop_running(struct rt_group *g, uint64_t now)
{
    update(g, now);
    g->running = false;
}

bool rt_group_exhausted(const struct rt_group *g)
{
    return g->enabled && g->used >= g->budget;
}

uint64_t rt_group_next_event(const struct rt_group *g)
{
    if (!g->enabled) return RT_NEVER;
    if (rt_group_exhausted(g)) return add_sat(g->window_start, g->period);
    /* If the window ends first, the budget end moves later: the timer
     * fires early and rt_group_timer recomputes. */
    if (g->running) return add_sat(g->run_since, g->budget - g->used);
    return RT_NEVER;
}

void rt_group_timer(struct rt_group *g, uint64_t now)
{
    update(g, now);
}

uint64_t rt_group_budget_left(const struct rt_group *g)
{
    if (!g->enabled) return 0;
    return g->used < g->budget ? g->budget - g->used : 0;
}
