/*
 * The task-set file format: a full valid file (every key and distribution
 * form, comments, a histogram file through the reader callback) and every
 * class of bad input, each reported with source and line number.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "qas_parse.h"
#include "tap.h"

/* In-memory "files" for hist(file). */
static char *fake_read(void *ctx, const char *path, size_t *len, char *why, size_t whylen)
{
    (void)ctx;
    const char *text = NULL;
    if (!strcmp(path, "decode.hist")) text = "# upper_ms count\n2 10\n4 30 # peak\n\n6 10\n";
    if (!strcmp(path, "bad.hist")) text = "2 10\n4 -3\n";
    if (!strcmp(path, "junk.hist")) text = "2 10\nfour 3\n";
    if (!strcmp(path, "probs.hist")) text = "1 0.5\n2 0.4\n";
    if (!text) {
        snprintf(why, whylen, "No such file or directory");
        return NULL;
    }
    *len = strlen(text);
    return strdup(text);
}

static const struct qas_parse_io io = {fake_read, NULL};

static int parse(const char *text, struct qas_taskset *ts, struct qas_err *err)
{
    qas_taskset_init(ts);
    memset(err, 0, sizeof *err);
    return qas_parse_taskset(text, strlen(text), "t.ts", &io, ts, err);
}

static void valid_file(void)
{
    const char *text = "# a full example\n"
                       "resolution 0.01   # 10 us grid\n"
                       "\n"
                       "task audio period=10 mandatory=uniform(0.5,1) optional=normal(2,0.6,0.5,4) quality=0.95\n"
                       "task video period=40 mandatory=hist(decode.hist) optional=hist(0.5, 1 2 4, 2 1) "
                       "optional=pmf(1,0.25,0.75) quality=0.9,0.8 blocking=0.2 wcet_quantile=0.99\n"
                       "task hard period=20 mandatory=const(3)\n";
    struct qas_taskset ts;
    struct qas_err e;
    int rc = parse(text, &ts, &e);
    ok(rc == QAS_OK, "full example parses (%s)", e.msg);
    is(ts.ntasks, 3, "three tasks");
    is(ts.resolution_ns, 10000, "resolution 0.01 ms = 10000 ns");
    const struct qas_task *a = &ts.tasks[0], *v = &ts.tasks[1], *h = &ts.tasks[2];
    ok(!strcmp(a->name, "audio") && a->period_ns == 10000000 && a->line == 4, "audio: period 10 ms, line 4");
    ok(a->mandatory.kind == QAS_SPEC_UNIFORM && a->mandatory.lo_ns == 5e5 && a->mandatory.hi_ns == 1e6,
       "audio mandatory uniform(0.5,1)");
    ok(a->noptional == 1 && a->optional[0].kind == QAS_SPEC_NORMAL && a->quality[0] == 0.95,
       "audio optional normal, q 0.95");
    ok(v->mandatory.kind == QAS_SPEC_HIST && v->mandatory.nbins == 3 && fabs(v->mandatory.mass[1] - 0.6) < 1e-12 &&
           v->mandatory.hi_ns == 6e6,
       "video mandatory from the histogram file, normalised (0.2, 0.6, 0.2)");
    ok(v->noptional == 2 && v->optional[0].nbins == 5 && v->optional[0].edge[5] == 2.5e6,
       "inline histogram: 5 bins of 0.5 ms, commas and blanks both separate");
    ok(v->optional[1].nbins == 2 && v->optional[1].mass[1] == 0.75, "pmf(1,0.25,0.75)");
    ok(v->quality[0] == 0.9 && v->quality[1] == 0.8, "one quality per optional part");
    ok(v->blocking_ns == 200000 && v->wcet_quantile == 0.99, "blocking and wcet_quantile");
    ok(h->noptional == 0 && h->mandatory.kind == QAS_SPEC_CONST && h->wcet_quantile == 1,
       "a hard task without optional parts; default quantile 1");
    qas_taskset_free(&ts);

    rc = parse("task a period=10 mandatory=const(1) optional=const(1) optional=const(2) quality=0.5", &ts, &e);
    ok(rc == QAS_OK && ts.tasks[0].quality[0] == 0.5 && ts.tasks[0].quality[1] == 0.5,
       "a single quality applies to every optional part");
    qas_taskset_free(&ts);
}

struct bad {
    const char *text;
    int line;
    const char *needle;
};

static void bad_input(void)
{
    static const struct bad cases[] = {
        {"task a period=10 mandatory=const(1)\ntask b period=0 mandatory=const(1)\n", 2, "period must be > 0"},
        {"task a period=-5 mandatory=const(1)\n", 1, "period must be > 0"},
        {"task a period=ten mandatory=const(1)\n", 1, "'ten' is not a number"},
        {"\n\ntask a period=10 mandatory=const(1) optional=const(1) quality=0\n", 3, "quality must be in (0,1]"},
        {"task a period=10 mandatory=const(1) optional=const(1) quality=1.5\n", 1, "quality must be in (0,1], got 1.5"},
        {"task a period=10 mandatory=const(1) optional=const(1) quality=0.9 colour=red\n", 1, "unknown key 'colour'"},
        {"task a mandatory=const(1)\n", 1, "missing period"},
        {"task a period=10\n", 1, "missing mandatory"},
        {"task a period=10 mandatory=const(1) optional=const(1)\n", 1, "missing quality"},
        {"task a period=10 mandatory=const(1) quality=0.5\n", 1, "no optional part"},
        {"task a period=10 mandatory=const(1) optional=const(1) optional=const(1) quality=0.5,0.6,0.7\n", 1,
         "3 quality values for 2 optional parts"},
        {"task a period=10 period=20 mandatory=const(1)\n", 1, "given twice"},
        {"# ok\ntask a period=10 mandatory=pmf(1, 0.5, 0.4)\n", 2, "not normalised: they sum to 0.9"},
        {"task a period=10 mandatory=hist(1, 3, -1, 2)\n", 1, "bin 2 is negative"},
        {"task a period=10 mandatory=hist(1, 0, 0)\n", 1, "all bins are zero"},
        {"task a period=10 mandatory=hist(bad.hist)\n", 1, "bin 2 is negative"},
        {"task a period=10 mandatory=hist(junk.hist)\n", 1, "'bad.hist'"},
        {"task a period=10 mandatory=hist(missing.hist)\n", 1, "No such file"},
        {"task a period=10 mandatory=pmf(probs.hist)\n", 1, "not normalised"},
        {"task a period=10 mandatory=uniform(3,2)\n", 1, "lo must not exceed hi"},
        {"task a period=10 mandatory=normal(5,0,1,9)\n", 1, "sd must be > 0"},
        {"task a period=10 mandatory=normal(5,1,1)\n", 1, "takes 4 numbers"},
        {"task a period=10 mandatory=gamma(2,3)\n", 1, "unknown distribution 'gamma'"},
        {"task a period=10 mandatory=uniform(1,2\n", 1, "unbalanced parentheses"},
        {"task a period=10 mandatory=const(1)\ntask a period=20 mandatory=const(1)\n", 2, "already defined on line 1"},
        {"job a period=10\n", 1, "unknown directive 'job'"},
        {"task period=10 mandatory=const(1)\n", 1, "needs a name"},
        {"resolution 0\ntask a period=10 mandatory=const(1)\n", 1, "resolution"},
        {"task a period=10 mandatory=const(1) optional=const(1) optional=const(1) optional=const(1) "
         "optional=const(1) optional=const(1) optional=const(1) optional=const(1) optional=const(1) quality=0.5\n",
         1, "at most 7 optional parts"},
        {"# nothing here\n", 0, "no tasks defined"},
        {"task a period=10 mandatory=const(1) wcet_quantile=0\n", 1, "wcet_quantile must be in (0,1]"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct qas_taskset ts;
        struct qas_err e;
        int rc = parse(cases[k].text, &ts, &e);
        char prefix[32];
        if (cases[k].line)
            snprintf(prefix, sizeof prefix, "t.ts:%d: ", cases[k].line);
        else
            snprintf(prefix, sizeof prefix, "t.ts: ");
        int good = rc == QAS_EINVAL && e.line == cases[k].line && !strncmp(e.msg, prefix, strlen(prefix)) &&
                   strstr(e.msg, cases[k].needle);
        /* junk.hist: the needle is about the file name being reported. */
        if (k == 16) good = rc == QAS_EINVAL && strstr(e.msg, "'junk.hist' line 2");
        ok(good, "bad input %zu refused with its line: %s", k + 1, e.msg);
        qas_taskset_free(&ts);
    }

    struct qas_taskset ts;
    struct qas_err e;
    qas_taskset_init(&ts);
    const char nul[] = "task a period=10\0 mandatory=const(1)\n";
    ok(qas_parse_taskset(nul, sizeof nul - 1, "t.ts", &io, &ts, &e) == QAS_EINVAL && strstr(e.msg, "NUL"),
       "a NUL byte is refused: %s", e.msg);
    qas_taskset_free(&ts);
    qas_taskset_init(&ts);
    ok(qas_parse_taskset("task a period=10 mandatory=hist(decode.hist)", 44, "t.ts", NULL, &ts, &e) == QAS_EINVAL &&
           strstr(e.msg, "cannot be read here"),
       "without a reader, histogram files are refused: %s", e.msg);
    qas_taskset_free(&ts);
}

int main(void)
{
    gsl_set_error_handler_off();
    valid_file();
    bad_input();
    return done_testing();
}
