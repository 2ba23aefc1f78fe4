/*
 * Task-set parser (format in qas_parse.h and README.md). It checks
 * everything a human can get wrong in a file, so the analysis only ever sees
 * a valid model: malformed numbers, non-positive periods, qualities outside
 * (0,1], negative or non-normalised distributions, unknown or repeated keys,
 * missing fields. Each message says what was expected.
 */
#include "qas_parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1e6

static const char KNOWN_KEYS[] = "period, mandatory, optional, quality, blocking, wcet_quantile";

/* Parses a whole token as a finite double. */
static int number(const char *s, double *out)
{
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return 0;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    while (isspace((unsigned char)*end)) end++;
    if (*end || errno || !isfinite(x)) return 0;
    *out = x;
    return 1;
}

/* Splits s (modified) at commas and blanks into at most max fields. */
static size_t fields(char *s, char **f, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, ", \t\r", &save); tok; tok = strtok_r(NULL, ", \t\r", &save)) {
        if (n == max) return max + 1;
        f[n++] = tok;
    }
    return n;
}

/* A histogram file: lines "<upper edge ms> <weight>", bins (previous edge,
 * edge], the first starting at 0. */
static int hist_file(const char *path, int counts, const struct qas_parse_io *io, struct qas_spec *out,
                     struct qas_err *err)
{
    char why[160] = "";
    size_t len = 0;
    if (!io || !io->read) {
        qas_err_set(err, "histogram file '%s': files cannot be read here", path);
        return QAS_EINVAL;
    }
    char *text = io->read(io->ctx, path, &len, why, sizeof why);
    if (!text) {
        qas_err_set(err, "histogram file '%s': %s", path, why[0] ? why : "cannot read");
        return QAS_EINVAL;
    }
    size_t cap = 64, n = 0;
    double *edge = malloc((cap + 1) * sizeof *edge), *w = malloc(cap * sizeof *w);
    int rc = edge && w ? QAS_OK : QAS_ENOMEM;
    if (edge) edge[0] = 0;
    int lineno = 0;
    for (char *line = text; rc == QAS_OK && line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *f[3];
        size_t nf = fields(line, f, 2);
        if (nf == 0) {
            line = nl ? nl + 1 : NULL;
            continue;
        }
        double e, x;
        if (nf != 2 || !number(f[0], &e) || !number(f[1], &x)) {
            qas_err_set(err, "histogram file '%s' line %d: expected '<upper edge ms> <%s>'", path, lineno,
                        counts ? "count" : "probability");
            rc = QAS_EINVAL;
            break;
        }
        if (n == cap) {
            cap *= 2;
            double *ne = realloc(edge, (cap + 1) * sizeof *edge), *nw = ne ? realloc(w, cap * sizeof *w) : NULL;
            if (ne) edge = ne;
            if (!nw) {
                rc = QAS_ENOMEM;
                break;
            }
            w = nw;
        }
        edge[n + 1] = e * MS;
        w[n] = x;
        n++;
        line = nl ? nl + 1 : NULL;
    }
    if (rc == QAS_OK && n == 0) {
        qas_err_set(err, "histogram file '%s': no bins", path);
        rc = QAS_EINVAL;
    }
    if (rc == QAS_OK) {
        struct qas_err sub = {0};
        rc = counts ? qas_spec_hist_counts(out, edge, w, n, &sub) : qas_spec_hist_probs(out, edge, w, n, &sub);
        if (rc) qas_err_set(err, "histogram file '%s': %s", path, sub.msg);
    }
    if (rc == QAS_ENOMEM) qas_err_set(err, "out of memory");
    free(edge);
    free(w);
    free(text);
    return rc;
}

/* hist(width, w1, w2, ...) or hist(file); pmf(...) the same with probabilities. */
static int hist_expr(char *args, int counts, const struct qas_parse_io *io, struct qas_spec *out,
                     struct qas_err *err)
{
    const char *name = counts ? "hist" : "pmf";
    char *f[4097];
    size_t nf = fields(args, f, 4096);
    if (nf == 0) {
        qas_err_set(err, "%s(): expected %s(<bin width ms>, <w1>, <w2>, ...) or %s(<file>)", name, name, name);
        return QAS_EINVAL;
    }
    if (nf > 4096) {
        qas_err_set(err, "%s(): at most 4095 inline bins (use a file)", name);
        return QAS_EINVAL;
    }
    double width;
    if (!number(f[0], &width)) {
        if (nf != 1) {
            qas_err_set(err, "%s(): '%s' is neither a bin width nor a single file name", name, f[0]);
            return QAS_EINVAL;
        }
        return hist_file(f[0], counts, io, out, err);
    }
    if (!(width > 0)) {
        qas_err_set(err, "%s(): bin width must be > 0", name);
        return QAS_EINVAL;
    }
    if (nf < 2) {
        qas_err_set(err, "%s(): no bins after the width", name);
        return QAS_EINVAL;
    }
    size_t n = nf - 1;
    double *edge = malloc((n + 1) * sizeof *edge), *w = malloc(n * sizeof *w);
    if (!edge || !w) {
        free(edge);
        free(w);
        qas_err_set(err, "out of memory");
        return QAS_ENOMEM;
    }
    int rc = QAS_OK;
    edge[0] = 0;
    for (size_t j = 0; j < n; j++) {
        edge[j + 1] = (double)(j + 1) * width * MS;
        if (!number(f[j + 1], &w[j])) {
            qas_err_set(err, "%s(): bin %zu ('%s') is not a number", name, j + 1, f[j + 1]);
            rc = QAS_EINVAL;
            break;
        }
    }
    if (rc == QAS_OK) {
        struct qas_err sub = {0};
        rc = counts ? qas_spec_hist_counts(out, edge, w, n, &sub) : qas_spec_hist_probs(out, edge, w, n, &sub);
        if (rc) qas_err_set(err, "%s(): %s", name, sub.msg);
    }
    free(edge);
    free(w);
    return rc;
}

int qas_parse_dist(const char *expr, const struct qas_parse_io *io, struct qas_spec *out, struct qas_err *err)
{
    memset(out, 0, sizeof *out);
    const char *open = strchr(expr, '('), *close = strrchr(expr, ')');
    if (!open || !close || close < open || close[1] != 0) {
        qas_err_set(err, "'%s' is not a distribution: expected const(c), uniform(lo,hi), normal(mean,sd,lo,hi), "
                         "hist(...) or pmf(...)",
                    expr);
        return QAS_EINVAL;
    }
    size_t nlen = (size_t)(open - expr);
    char kind[16];
    if (nlen == 0 || nlen >= sizeof kind) {
        qas_err_set(err, "'%s': unknown distribution", expr);
        return QAS_EINVAL;
    }
    memcpy(kind, expr, nlen);
    kind[nlen] = 0;
    size_t alen = (size_t)(close - open - 1);
    char *args = malloc(alen + 1);
    if (!args) {
        qas_err_set(err, "out of memory");
        return QAS_ENOMEM;
    }
    memcpy(args, open + 1, alen);
    args[alen] = 0;

    int rc = QAS_EINVAL;
    struct qas_err sub = {0};
    if (!strcmp(kind, "hist") || !strcmp(kind, "pmf")) {
        rc = hist_expr(args, kind[0] == 'h', io, out, err);
        free(args);
        return rc;
    }
    char *f[5];
    size_t nf = fields(args, f, 4);
    double a[4];
    size_t want = !strcmp(kind, "const") ? 1 : !strcmp(kind, "uniform") ? 2 : !strcmp(kind, "normal") ? 4 : 0;
    if (!want) {
        qas_err_set(err, "unknown distribution '%s' (known: const, uniform, normal, hist, pmf)", kind);
    } else if (nf != want) {
        qas_err_set(err, "%s() takes %zu numbers (milliseconds), got %zu", kind, want, nf > 4 ? (size_t)5 : nf);
    } else {
        size_t k = 0;
        for (; k < nf; k++)
            if (!number(f[k], &a[k])) break;
        if (k < nf) {
            qas_err_set(err, "%s(): '%s' is not a number", kind, f[k]);
        } else {
            if (want == 1) rc = qas_spec_const(out, a[0] * MS, &sub);
            if (want == 2) rc = qas_spec_uniform(out, a[0] * MS, a[1] * MS, &sub);
            if (want == 4) rc = qas_spec_normal(out, a[0] * MS, a[1] * MS, a[2] * MS, a[3] * MS, &sub);
            if (rc) qas_err_set(err, "%s", sub.msg);
        }
    }
    free(args);
    return rc;
}

/* ---- lines -------------------------------------------------------------- */

/* Splits a line at blanks outside parentheses; returns the count, or -1 on
 * unbalanced parentheses. */
static int tokens(char *s, char **tok, int max)
{
    int n = 0;
    while (*s) {
        while (isspace((unsigned char)*s)) s++;
        if (!*s) break;
        if (n == max) return max + 1;
        tok[n++] = s;
        int depth = 0;
        while (*s && (depth > 0 || !isspace((unsigned char)*s))) {
            if (*s == '(') depth++;
            if (*s == ')' && --depth < 0) return -1;
            s++;
        }
        if (depth) return -1;
        if (*s) *s++ = 0;
    }
    return n;
}

static int valid_name(const char *s)
{
    if (!*s || strlen(s) >= QAS_NAME_MAX) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_-.", *s)) return 0;
    return 1;
}

/* Parses "task <name> key=value ..." into t. Messages go to err->msg. */
static int task_line(char **tok, int ntok, const struct qas_parse_io *io, struct qas_task *t, struct qas_err *err)
{
    if (ntok < 2 || strchr(tok[1], '=')) {
        qas_err_set(err, "'task' needs a name: task <name> period=<ms> mandatory=<dist> ...");
        return QAS_EINVAL;
    }
    if (!valid_name(tok[1])) {
        qas_err_set(err, "task name '%s': use up to %d letters, digits, '_', '-', '.'", tok[1], QAS_NAME_MAX - 1);
        return QAS_EINVAL;
    }
    snprintf(t->name, sizeof t->name, "%s", tok[1]);
    t->wcet_quantile = 1;
    int have_period = 0, have_mandatory = 0, have_quality = 0, have_blocking = 0, have_quantile = 0;
    unsigned nquality = 0;
    double quality[QAS_MAX_OPTIONAL];
    for (int k = 2; k < ntok; k++) {
        char *eq = strchr(tok[k], '=');
        if (!eq || eq == tok[k]) {
            qas_err_set(err, "'%s': expected key=value (keys: %s)", tok[k], KNOWN_KEYS);
            return QAS_EINVAL;
        }
        *eq = 0;
        const char *key = tok[k], *val = eq + 1;
        double x;
        struct qas_err sub = {0};
        if (!strcmp(key, "period")) {
            if (have_period++) goto dup;
            if (!number(val, &x)) goto nan;
            if (!(x > 0) || llround(x * MS) < 1) {
                qas_err_set(err, "period must be > 0 ms, got %s", val);
                return QAS_EINVAL;
            }
            t->period_ns = (uint64_t)llround(x * MS);
        } else if (!strcmp(key, "blocking")) {
            if (have_blocking++) goto dup;
            if (!number(val, &x)) goto nan;
            if (x < 0) {
                qas_err_set(err, "blocking must be >= 0 ms, got %s", val);
                return QAS_EINVAL;
            }
            t->blocking_ns = (uint64_t)llround(x * MS);
        } else if (!strcmp(key, "wcet_quantile")) {
            if (have_quantile++) goto dup;
            if (!number(val, &x)) goto nan;
            if (!(x > 0 && x <= 1)) {
                qas_err_set(err, "wcet_quantile must be in (0,1], got %s", val);
                return QAS_EINVAL;
            }
            t->wcet_quantile = x;
        } else if (!strcmp(key, "mandatory")) {
            if (have_mandatory++) goto dup;
            if (qas_parse_dist(val, io, &t->mandatory, &sub)) {
                qas_err_set(err, "mandatory: %s", sub.msg);
                return QAS_EINVAL;
            }
        } else if (!strcmp(key, "optional")) {
            if (t->noptional == QAS_MAX_OPTIONAL) {
                qas_err_set(err, "at most %u optional parts per task (rt-sched has %u slices)", QAS_MAX_OPTIONAL,
                            ABI_RT_MAX_SLICES);
                return QAS_EINVAL;
            }
            if (qas_parse_dist(val, io, &t->optional[t->noptional], &sub)) {
                qas_err_set(err, "optional part %u: %s", t->noptional + 1, sub.msg);
                return QAS_EINVAL;
            }
            t->noptional++;
        } else if (!strcmp(key, "quality")) {
            if (have_quality++) goto dup;
            char buf[256];
            snprintf(buf, sizeof buf, "%s", val);
            char *f[QAS_MAX_OPTIONAL + 1];
            size_t nf = fields(buf, f, QAS_MAX_OPTIONAL);
            if (nf == 0 || nf > QAS_MAX_OPTIONAL) {
                qas_err_set(err, "quality: expected one value, or one per optional part separated by commas");
                return QAS_EINVAL;
            }
            for (size_t j = 0; j < nf; j++) {
                if (!number(f[j], &quality[j])) {
                    qas_err_set(err, "quality: '%s' is not a number", f[j]);
                    return QAS_EINVAL;
                }
                if (!(quality[j] > 0 && quality[j] <= 1)) {
                    qas_err_set(err, "quality must be in (0,1], got %s", f[j]);
                    return QAS_EINVAL;
                }
            }
            nquality = (unsigned)nf;
        } else {
            qas_err_set(err, "unknown key '%s' (known: %s)", key, KNOWN_KEYS);
            return QAS_EINVAL;
        }
        continue;
    dup:
        qas_err_set(err, "key '%s' given twice", key);
        return QAS_EINVAL;
    nan:
        qas_err_set(err, "%s: '%s' is not a number (milliseconds)", key, val);
        return QAS_EINVAL;
    }
    if (!have_period) {
        qas_err_set(err, "task '%s': missing period=<ms>", t->name);
        return QAS_EINVAL;
    }
    if (!have_mandatory) {
        qas_err_set(err, "task '%s': missing mandatory=<dist>", t->name);
        return QAS_EINVAL;
    }
    if (t->noptional && !have_quality) {
        qas_err_set(err, "task '%s': missing quality=<q> for its optional parts", t->name);
        return QAS_EINVAL;
    }
    if (!t->noptional && have_quality) {
        qas_err_set(err, "task '%s': quality= given but the task has no optional part", t->name);
        return QAS_EINVAL;
    }
    if (nquality != 1 && nquality != t->noptional) {
        qas_err_set(err, "task '%s': %u quality values for %u optional parts (give one, or one per part)", t->name,
                    nquality, t->noptional);
        return QAS_EINVAL;
    }
    for (unsigned j = 0; j < t->noptional; j++) t->quality[j] = quality[nquality == 1 ? 0 : j];
    return qas_task_validate(t, err);
}

static void task_clear(struct qas_task *t)
{
    qas_spec_free(&t->mandatory);
    for (unsigned j = 0; j < t->noptional; j++) qas_spec_free(&t->optional[j]);
    memset(t, 0, sizeof *t);
}

int qas_parse_taskset(const char *text, size_t len, const char *source, const struct qas_parse_io *io,
                      struct qas_taskset *ts, struct qas_err *err)
{
    int lineno = 0, have_res = 0;
    size_t pos = 0;
    char *line = NULL;
    int rc = QAS_OK;
    while (pos < len && rc == QAS_OK) {
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        lineno++;
        free(line);
        line = malloc(end - pos + 1);
        if (!line) {
            rc = QAS_ENOMEM;
            qas_err_set(err, "out of memory");
            break;
        }
        int has_nul = memchr(text + pos, 0, end - pos) != NULL;
        memcpy(line, text + pos, end - pos);
        line[end - pos] = 0;
        pos = end + 1;
        if (has_nul) {
            rc = QAS_EINVAL;
            qas_err_set(err, "NUL byte in the line (not a text file?)");
            break;
        }
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *tok[64];
        int ntok = tokens(line, tok, 63);
        if (ntok == 0) continue;
        if (ntok < 0) {
            qas_err_set(err, "unbalanced parentheses");
            rc = QAS_EINVAL;
        } else if (ntok > 63) {
            qas_err_set(err, "too many fields on one line");
            rc = QAS_EINVAL;
        } else if (!strcmp(tok[0], "resolution")) {
            double x;
            if (have_res++) {
                qas_err_set(err, "resolution given twice");
                rc = QAS_EINVAL;
            } else if (ntok != 2 || !number(tok[1], &x) || !(x > 0) || llround(x * MS) < 1) {
                qas_err_set(err, "expected 'resolution <ms>' with a grid step of at least 1 ns");
                rc = QAS_EINVAL;
            } else {
                ts->resolution_ns = (uint64_t)llround(x * MS);
            }
        } else if (!strcmp(tok[0], "task")) {
            struct qas_task t;
            memset(&t, 0, sizeof t);
            t.line = lineno;
            rc = task_line(tok, ntok, io, &t, err);
            for (size_t i = 0; rc == QAS_OK && i < ts->ntasks; i++) {
                if (!strcmp(ts->tasks[i].name, t.name)) {
                    qas_err_set(err, "task '%s' already defined on line %d", t.name, ts->tasks[i].line);
                    rc = QAS_EINVAL;
                }
            }
            if (rc == QAS_OK) rc = qas_taskset_add(ts, &t);
            if (rc == QAS_ENOMEM) qas_err_set(err, "out of memory");
            task_clear(&t);
        } else {
            qas_err_set(err, "unknown directive '%s' (expected 'task' or 'resolution')", tok[0]);
            rc = QAS_EINVAL;
        }
    }
    free(line);
    if (rc == QAS_OK && ts->ntasks == 0) {
        lineno = 0;
        qas_err_set(err, "no tasks defined");
        rc = QAS_EINVAL;
    }
    if (rc != QAS_OK) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        err->line = lineno;
        if (lineno)
            snprintf(err->msg, sizeof err->msg, "%s:%d: %.200s", source, lineno, msg);
        else
            snprintf(err->msg, sizeof err->msg, "%s: %.200s", source, msg);
    }
    return rc;
}
