/*
 * The per-thread reservation state machine (see rt_sched.h for the model).
 *
 * Every entry point first brings the thread up to `now` with advance():
 * it takes the due events in time order (budget end, deadline, release),
 * charges running time in between to the slice or job it belongs to, and
 * stops at the first event that is not yet due. So the kernel may call in
 * late, or call several functions at one instant, and the state is the same
 * as if every event had been handled at its exact time, except that running
 * time is charged to the slice the thread really ran in.
 */
#include "rt_sched.h"

#include "abi/errors.h"

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > RT_NEVER - b ? RT_NEVER : a + b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

void rt_init(struct rt_thread *t, uint64_t thread_id, rt_job_sink sink, void *sink_ctx)
{
    *t = (struct rt_thread){0};
    t->rec.thread_id = thread_id;
    t->sink = sink;
    t->sink_ctx = sink_ctx;
}

enum rt_param_fault rt_check_params(const struct abi_rt_params *p, uint8_t caller_mcp, uint64_t now)
{
    if (p->period_ns == 0) return RT_PARAM_PERIOD_ZERO;
    if (p->mode != ABI_RT_STRICT_PERIODIC && p->mode != ABI_RT_MIN_INTERRELEASE) return RT_PARAM_MODE;
    if (p->nslices == 0 || p->nslices > ABI_RT_MAX_SLICES) return RT_PARAM_NSLICES;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < p->nslices; i++) {
        uint64_t b = p->slice[i].budget_ns;
        if (b == 0) return RT_PARAM_BUDGET_ZERO;
        if (sum > UINT64_MAX - b) return RT_PARAM_BUDGET_OVERFLOW;
        sum += b;
        if (p->slice[i].prio > caller_mcp) return RT_PARAM_PRIORITY;
    }
    if (sum > p->period_ns) return RT_PARAM_BUDGET_ABOVE_PERIOD;
    if (p->be_prio > caller_mcp) return RT_PARAM_PRIORITY;
    uint64_t first = p->start_ns > now ? p->start_ns : now;
    if (first > UINT64_MAX - p->period_ns) return RT_PARAM_TIME_OVERFLOW;
    return RT_PARAM_OK;
}

int rt_param_fault_error(enum rt_param_fault f)
{
    switch (f) {
    case RT_PARAM_OK: return ABI_E_OK;
    case RT_PARAM_PRIORITY: return ABI_E_PRIORITY;
    default: return ABI_E_INVALID_ARG;
    }
}

/* ---- notifications ---------------------------------------------------- */

/* The monitored thread never waits for its preempter: a full queue folds
 * the newest event into its last entry and counts the one it replaces. */
static void notify(struct rt_thread *t, uint32_t type, uint64_t time, uint32_t slice)
{
    struct abi_rt_notification n = {.time_ns = time, .slice = slice, .type = type, .lost = 0};
    if (t->note_count < RT_NOTIFY_QUEUE_LEN) {
        t->notes[t->note_count++] = n;
    } else {
        struct abi_rt_notification *last = &t->notes[RT_NOTIFY_QUEUE_LEN - 1];
        n.lost = last->lost + 1;
        *last = n;
    }
}

unsigned rt_notifications_pending(const struct rt_thread *t)
{
    return t->note_count;
}

bool rt_pop_notification(struct rt_thread *t, struct abi_rt_notification *out)
{
    if (t->note_count == 0) return false;
    *out = t->notes[0];
    for (unsigned i = 1; i < t->note_count; i++) t->notes[i - 1] = t->notes[i];
    t->note_count--;
    return true;
}

/* ---- jobs and accounting ------------------------------------------------ */

static void charge(struct rt_thread *t, uint64_t until)
{
    if (!t->running || until <= t->run_since) return;
    uint64_t dt = until - t->run_since;
    if (t->state == RT_ACTIVE) {
        if (t->rec.first_run_ns == RT_NEVER) t->rec.first_run_ns = t->run_since;
        if (t->cur < t->nslices) {
            t->rec.slice_ns[t->cur] += dt;
            t->used += dt;
        } else {
            t->rec.be_ns += dt;
        }
    }
    t->run_since = until;
}

/* The record is cleared when a job ends (and by rt_init), not when the next
 * one starts: a release is on the path to the thread running, the end of a
 * job is not. Only start_job .. end_job write to it. */
static void start_job(struct rt_thread *t, uint64_t release)
{
    t->rec.job = t->job;
    t->rec.release_ns = release;
    t->deadline = add_sat(release, t->period);
    t->rec.deadline_ns = t->deadline;
    t->rec.first_run_ns = RT_NEVER;
    t->state = RT_ACTIVE;
    t->cur = 0;
    t->used = 0;
    t->msg_needed = t->msg_arrived = false;
    if (t->running) {
        /* Time before the release was charged to whatever came before. */
        if (t->run_since < release) t->run_since = release;
        t->rec.first_run_ns = t->run_since;
    }
}

static void end_job(struct rt_thread *t, uint64_t completion, bool missed)
{
    t->rec.completion_ns = completion;
    t->rec.missed = missed;
    if (t->sink) t->sink(t->sink_ctx, &t->rec);
    t->job++;
    uint64_t id = t->rec.thread_id;
    t->rec = (struct abi_rt_job_record){0};
    t->rec.thread_id = id;
}

/* After next_period: strict mode releases at the period end; minimal
 * inter-release mode also waits for a message. */
static void wait_for_release(struct rt_thread *t)
{
    t->state = RT_WAITING;
    t->next_release = t->deadline;
    t->msg_needed = t->mode == ABI_RT_MIN_INTERRELEASE;
    t->msg_arrived = false;
}

static uint64_t budget_end(const struct rt_thread *t)
{
    if (!t->running || t->cur >= t->nslices) return RT_NEVER;
    uint64_t b = t->budget[t->cur];
    return add_sat(t->run_since, t->used < b ? b - t->used : 0);
}

static uint64_t release_time(const struct rt_thread *t)
{
    if (t->msg_needed && !t->msg_arrived) return RT_NEVER;
    return t->next_release;
}

/* Process events due before `now` (or at `now` too when inclusive), in
 * time order; returns `now`, clamped so the clock never goes back. */
static uint64_t advance(struct rt_thread *t, uint64_t now, bool inclusive)
{
    if (now < t->last_now) now = t->last_now;
    t->last_now = now;
#define DUE(e) ((e) < now || (inclusive && (e) == now))
    for (;;) {
        if (t->state == RT_ACTIVE) {
            uint64_t bend = budget_end(t), dl = t->deadline;
            if (DUE(bend) && bend <= dl) {
                charge(t, min_u64(now, dl));
                notify(t, ABI_RT_EV_OVERRUN, bend, t->cur);
                t->cur++;
                t->used = 0;
                t->rec.slice_switches++;
                continue;
            }
            if (DUE(dl)) {
                charge(t, dl);
                notify(t, ABI_RT_EV_DEADLINE_MISS, dl, t->cur);
                end_job(t, dl, true);
                start_job(t, dl);
                continue;
            }
        } else if (t->state == RT_IDLE || t->state == RT_WAITING) {
            uint64_t r = release_time(t);
            if (DUE(r)) {
                charge(t, r);
                start_job(t, r);
                continue;
            }
        }
        break;
    }
#undef DUE
    charge(t, now);
    return now;
}

/* ---- configuration ------------------------------------------------------- */

int rt_configure(struct rt_thread *t, const struct abi_rt_params *p, uint8_t caller_mcp, uint64_t now)
{
    enum rt_param_fault f = rt_check_params(p, caller_mcp, now);
    if (f != RT_PARAM_OK) return rt_param_fault_error(f);

    now = advance(t, now, true);
    if (t->state == RT_ACTIVE) end_job(t, now, false);

    t->period = p->period_ns;
    t->nslices = (uint8_t)p->nslices;
    t->mode = (uint8_t)p->mode;
    t->be_prio = p->be_prio;
    for (unsigned i = 0; i < ABI_RT_MAX_SLICES; i++) {
        t->budget[i] = i < p->nslices ? p->slice[i].budget_ns : 0;
        t->prio[i] = i < p->nslices ? p->slice[i].prio : 0;
    }
    t->job = 0;
    t->msg_needed = t->msg_arrived = false;
    t->cur = 0;
    t->used = 0;
    t->run_since = now;
    if (p->start_ns > now) {
        t->state = RT_IDLE;
        t->next_release = p->start_ns;
    } else {
        start_job(t, now);
    }
    return ABI_E_OK;
}

void rt_disable(struct rt_thread *t, uint64_t now)
{
    now = advance(t, now, true);
    if (t->state == RT_ACTIVE) end_job(t, now, false);
    t->state = RT_OFF;
}

/* ---- getters --------------------------------------------------------------- */

bool rt_enabled(const struct rt_thread *t) { return t->state != RT_OFF; }

enum rt_state rt_get_state(const struct rt_thread *t) { return (enum rt_state)t->state; }

uint8_t rt_priority(const struct rt_thread *t)
{
    if (t->state == RT_OFF) return 0;
    if (t->state == RT_ACTIVE && t->cur < t->nslices) return t->prio[t->cur];
    return t->be_prio;
}

bool rt_runnable(const struct rt_thread *t) { return t->state != RT_WAITING; }

unsigned rt_slice(const struct rt_thread *t) { return t->cur; }

uint64_t rt_job_index(const struct rt_thread *t) { return t->job; }

uint64_t rt_budget_left(const struct rt_thread *t)
{
    if (t->state != RT_ACTIVE || t->cur >= t->nslices) return 0;
    return t->used < t->budget[t->cur] ? t->budget[t->cur] - t->used : 0;
}

uint64_t rt_next_event(const struct rt_thread *t)
{
    return min_u64(rt_period_event(t), rt_budget_end(t));
}

uint64_t rt_budget_end(const struct rt_thread *t)
{
    return t->state == RT_ACTIVE ? budget_end(t) : RT_NEVER;
}

uint64_t rt_period_event(const struct rt_thread *t)
{
    switch (t->state) {
    case RT_ACTIVE: return t->deadline;
    case RT_IDLE:
    case RT_WAITING: return release_time(t);
    default: return RT_NEVER;
    }
}

/* ---- events ------------------------------------------------------------------ */

void rt_start_running(struct rt_thread *t, uint64_t now)
{
    /* The clock never goes back: a release seen ahead of time (the
     * kernel's timer anticipation) starts the charging at the release. */
    if (now < t->last_now) now = t->last_now;
    /* The common case, on the path from a release to the thread running:
     * in a job, before its deadline, budget left. Nothing is due then, so
     * the general path below would only come to the same result. */
    if (!t->running && t->state == RT_ACTIVE && now < t->deadline &&
        (t->cur >= t->nslices || t->used < t->budget[t->cur])) {
        t->last_now = now;
        t->running = true;
        t->run_since = now;
        if (t->rec.first_run_ns == RT_NEVER) t->rec.first_run_ns = now;
        return;
    }
    now = advance(t, now, true);
    if (t->running) return;
    t->running = true;
    t->run_since = now;
    if (t->state == RT_ACTIVE && t->rec.first_run_ns == RT_NEVER) t->rec.first_run_ns = now;
    /* A slice left with its budget exactly used up ends right here. */
    advance(t, now, true);
}

void rt_stop_running(struct rt_thread *t, uint64_t now)
{
    advance(t, now, true);
    t->running = false;
}

void rt_timer(struct rt_thread *t, uint64_t now)
{
    /* The common case, a waiting thread's release with nothing else due
     * (not running: no budget end; the new job's deadline still ahead):
     * what advance() would do, without its general loop. */
    if (!t->running && (t->state == RT_WAITING || t->state == RT_IDLE) && now >= t->last_now) {
        uint64_t r = release_time(t);
        if (r <= now && now < add_sat(r, t->period)) {
            t->last_now = now;
            start_job(t, r);
            return;
        }
    }
    advance(t, now, true);
}

int rt_next_period(struct rt_thread *t, uint64_t now)
{
    if (t->state == RT_OFF) return ABI_E_BUSY;
    now = advance(t, now, false);
    if (t->state == RT_ACTIVE) {
        end_job(t, now, false);
        wait_for_release(t);
    } else if (t->state == RT_IDLE) {
        t->state = RT_WAITING;
    } else {
        return ABI_E_BUSY;
    }
    advance(t, now, true);
    return ABI_E_OK;
}

int rt_next_reservation(struct rt_thread *t, unsigned expected_slice, uint64_t now, uint64_t *time_left)
{
    if (time_left) *time_left = 0;
    if (t->state == RT_OFF) return ABI_E_BUSY;
    if (expected_slice >= t->nslices) return ABI_E_INVALID_ARG;
    now = advance(t, now, false);
    if (t->state != RT_ACTIVE || t->cur != expected_slice) return ABI_E_BUSY;
    if (time_left) *time_left = rt_budget_left(t);
    t->cur++;
    t->used = 0;
    t->rec.slice_switches++;
    advance(t, now, true);
    return ABI_E_OK;
}

bool rt_message_arrived(struct rt_thread *t, uint64_t now)
{
    now = advance(t, now, true);
    if (t->state != RT_WAITING || !t->msg_needed || t->msg_arrived) return false;
    t->msg_arrived = true;
    /* After the period end the message releases the job by itself. */
    if (t->next_release < now) t->next_release = now;
    advance(t, now, true);
    return true;
}
