/*
 * qas: the host command-line front end of libqas. Reads a task-set file,
 * runs the admission analysis, prints the decision, the reservations, the
 * priorities and the predicted quality of every part; with --simulate N it
 * also runs the independent simulation and prints the observed quality.
 *
 * Exit status: 0 admitted, 1 refused, 2 bad input or usage.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "qas.h"
#include "qas_parse.h"
#include "qas_sim.h"

#define MS 1e6

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qas [options] TASKSET\n"
            "  --mode=auto|qas|qrms|wcet  analysis (auto: qas for uniform/harmonic periods, else qrms)\n"
            "  --resolution=MS            analysis grid step (default: the file's, else automatic)\n"
            "  --simulate=N               simulate N periods of the longest task and report observed quality\n"
            "  --seed=S                   simulation seed (default 1)\n"
            "  --prio-top=P               priority of the first mandatory slice (default 250)\n"
            "  --be-prio=P                best-effort priority after the last slice (default 99)\n"
            "  --margin=M                 size optional parts for q + M (headroom for finite runs; default 0)\n"
            "exit status: 0 admitted, 1 refused, 2 bad input\n");
}

static char *read_all(const char *path, size_t *len, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        snprintf(why, whylen, "%s", buf ? "read error" : "out of memory");
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Histogram files are named relative to the task-set file's directory. */
static char *read_relative(void *ctx, const char *path, size_t *len, char *why, size_t whylen)
{
    const char *dir = ctx;
    if (path[0] == '/' || !dir[0]) return read_all(path, len, why, whylen);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *full = malloc(n);
    if (!full) return NULL;
    snprintf(full, n, "%s/%s", dir, path);
    char *r = read_all(full, len, why, whylen);
    free(full);
    return r;
}

static int parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || errno || x > max || s[0] == '-') return 0;
    *out = x;
    return 1;
}

int main(int argc, char **argv)
{
    struct qas_config cfg;
    qas_config_default(&cfg);
    unsigned long long simulate = 0, seed = 1, x;
    double res_ms = 0;
    static const struct option opts[] = {
        {"mode", required_argument, 0, 'm'},       {"resolution", required_argument, 0, 'r'},
        {"simulate", required_argument, 0, 's'},   {"seed", required_argument, 0, 'S'},
        {"prio-top", required_argument, 0, 'p'},   {"be-prio", required_argument, 0, 'b'},
        {"margin", required_argument, 0, 'M'},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (o) {
        case 'm':
            if (!strcmp(optarg, "auto")) cfg.mode = QAS_MODE_AUTO;
            else if (!strcmp(optarg, "qas")) cfg.mode = QAS_MODE_QAS;
            else if (!strcmp(optarg, "qrms")) cfg.mode = QAS_MODE_QRMS;
            else if (!strcmp(optarg, "wcet")) cfg.mode = QAS_MODE_WCET;
            else {
                fprintf(stderr, "qas: unknown mode '%s' (auto, qas, qrms, wcet)\n", optarg);
                return 2;
            }
            break;
        case 'r':
            res_ms = strtod(optarg, &end);
            if (*end || !(res_ms > 0) || llround(res_ms * MS) < 1) {
                fprintf(stderr, "qas: --resolution wants a step in ms of at least 1 ns, not '%s'\n", optarg);
                return 2;
            }
            cfg.resolution_ns = (uint64_t)llround(res_ms * MS);
            break;
        case 's':
            if (!parse_u64(optarg, 100000000ull, &simulate) || !simulate) {
                fprintf(stderr, "qas: --simulate wants a number of periods (1..1e8), not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'S':
            if (!parse_u64(optarg, 0xffffffffull, &seed)) {
                fprintf(stderr, "qas: --seed wants a non-negative integer, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'p':
        case 'b':
            if (!parse_u64(optarg, 255, &x)) {
                fprintf(stderr, "qas: --%s wants a priority 0..255, not '%s'\n", o == 'p' ? "prio-top" : "be-prio",
                        optarg);
                return 2;
            }
            if (o == 'p') cfg.prio_top = (uint8_t)x;
            else cfg.be_prio = (uint8_t)x;
            break;
        case 'M':
            cfg.margin = strtod(optarg, &end);
            if (*end || !(cfg.margin >= 0 && cfg.margin < 1)) {
                fprintf(stderr, "qas: --margin wants a value in [0,1), not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    gsl_set_error_handler_off();

    const char *path = argv[optind];
    char why[160] = "";
    size_t len = 0;
    char *text = read_all(path, &len, why, sizeof why);
    if (!text) {
        fprintf(stderr, "qas: %s: %s\n", path, why);
        return 2;
    }
    char *pathcopy = strdup(path);
    const char *dir = pathcopy ? dirname(pathcopy) : ".";
    struct qas_parse_io io = {read_relative, (void *)dir};
    struct qas_taskset ts;
    qas_taskset_init(&ts);
    struct qas_err err = {0};
    int rc = qas_parse_taskset(text, len, path, &io, &ts, &err);
    free(text);
    if (rc) {
        fprintf(stderr, "qas: %s\n", err.msg);
        free(pathcopy);
        qas_taskset_free(&ts);
        return 2;
    }

    struct qas_task_result *res = calloc(ts.ntasks, sizeof *res);
    struct qas_verdict v;
    rc = res ? qas_analyse(&ts, &cfg, res, &v, &err) : QAS_ENOMEM;
    if (rc) {
        fprintf(stderr, "qas: %s: %s\n", path, res ? err.msg : "out of memory");
        free(res);
        free(pathcopy);
        qas_taskset_free(&ts);
        return 2;
    }

    printf("task set %s: %zu tasks, %s periods, mode %s, grid %.6g ms\n", path, ts.ntasks,
           qas_periods_harmonic(&ts) ? "harmonic" : "arbitrary", qas_mode_name(v.mode), v.resolution_ns / MS);
    if (v.admitted)
        printf("decision: admitted\n");
    else
        printf("decision: refused: %s\n", v.reason);

    struct qas_sim_stats *st = NULL;
    if (simulate) {
        st = calloc(ts.ntasks, sizeof *st);
        struct abi_rt_params *par = calloc(ts.ntasks, sizeof *par);
        struct qas_sim_config sc = {simulate, (unsigned long)seed};
        for (size_t i = 0; par && i < ts.ntasks; i++) par[i] = res[i].params;
        rc = st && par ? qas_simulate(&ts, par, &sc, st, &err) : QAS_ENOMEM;
        free(par);
        if (rc) {
            fprintf(stderr, "qas: simulation: %s\n", rc == QAS_ENOMEM ? "out of memory" : err.msg);
            free(st);
            st = NULL;
        }
    }

    printf("\n%-16s %9s %-10s %-26s %9s %4s %9s %9s %9s%s\n", "task", "period", "part", "distribution",
           "budget", "prio", "response", "requested", "predicted", st ? "  observed" : "");
    size_t order[ts.ntasks];
    qas_rm_order(&ts, order);
    double worst_dev = 0;
    for (size_t r = 0; r < ts.ntasks; r++) {
        size_t i = order[r];
        const struct qas_task *t = &ts.tasks[i];
        for (unsigned j = 0; j <= t->noptional; j++) {
            const struct qas_part_result *p = &res[i].part[j];
            char part[16], dist[64], resp[24] = "-", req[16] = "-", pred[16] = "-", obs[24] = "";
            if (j == 0) snprintf(part, sizeof part, "mandatory");
            else snprintf(part, sizeof part, "optional%u", j);
            qas_spec_describe(j ? &t->optional[j - 1] : &t->mandatory, dist, sizeof dist);
            if (p->response_ns) snprintf(resp, sizeof resp, "%.3f", p->response_ns / MS);
            if (j) {
                snprintf(req, sizeof req, "%.4f", p->requested);
                snprintf(pred, sizeof pred, "%.4f", p->predicted);
            }
            if (st) {
                if (j) {
                    snprintf(obs, sizeof obs, "  %.4f", st[i].observed[j - 1]);
                    double d = fabs(st[i].observed[j - 1] - p->predicted);
                    if (d > worst_dev) worst_dev = d;
                } else {
                    snprintf(obs, sizeof obs, "  %.4f", st[i].jobs ? (double)st[i].mandatory_done / st[i].jobs : 0);
                }
            }
            printf("%-16s %9.3f %-10s %-26s %9.4f %4u %9s %9s %9s%s%s\n", j ? "" : t->name, t->period_ns / MS, part,
                   dist, p->budget_ns / MS, p->prio, resp, req, pred, obs, p->ok ? "" : "  FAILS");
        }
    }
    printf("\nutilisation: mean demand %.4f, reserved %.4f\n", v.mean_util, v.reserved_util);
    if (st) {
        uint64_t jobs_min = UINT64_MAX;
        for (size_t i = 0; i < ts.ntasks; i++)
            if (st[i].jobs < jobs_min) jobs_min = st[i].jobs;
        printf("simulation: %llu periods of the longest task (at least %llu jobs per task), seed %llu; largest "
               "|observed - predicted| %.2f percentage points\n",
               simulate, (unsigned long long)jobs_min, seed, 100 * worst_dev);
        printf("(the mandatory line's observed column is the fraction of mandatory parts done by the deadline)\n");
    }
    for (size_t i = 0; i < ts.ntasks; i++) {
        const struct abi_rt_params *p = &res[i].params;
        printf("params %s: period_ns=%llu mode=strict nslices=%u be_prio=%u", ts.tasks[i].name,
               (unsigned long long)p->period_ns, p->nslices, p->be_prio);
        for (unsigned j = 0; j < p->nslices; j++)
            printf(" slice%u=(prio %u, %llu ns)", j, p->slice[j].prio, (unsigned long long)p->slice[j].budget_ns);
        printf("\n");
    }
    free(st);
    free(res);
    free(pathcopy);
    qas_taskset_free(&ts);
    return v.admitted ? 0 : 1;
}
