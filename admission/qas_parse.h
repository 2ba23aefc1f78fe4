/*
 * The task-set file format (documented in README.md): line oriented, `#`
 * starts a comment, times in milliseconds.
 *
 *   resolution 0.01
 *   task video period=40 mandatory=normal(6,2,1,12) optional=uniform(4,20) quality=0.9
 *
 * The parser works on a text buffer and reaches files (histograms given by
 * file name) only through a caller-supplied reader, so the same code runs in
 * the host CLI, the tests and the admission server. Every error names the
 * source and line: "tasks.ts:3: quality must be in (0,1], got 1.5".
 */
#ifndef ADMISSION_QAS_PARSE_H
#define ADMISSION_QAS_PARSE_H

#include <stddef.h>

#include "qas.h"

/* Returns the file's contents (malloc'd, NUL-terminated; *len without the
 * NUL) or NULL with a reason in why. */
typedef char *(*qas_read_fn)(void *ctx, const char *path, size_t *len, char *why, size_t whylen);

struct qas_parse_io {
    qas_read_fn read; /* NULL: histogram files are refused */
    void *ctx;
};

/* Parses text[0..len) into ts (initialised by the caller, tasks appended).
 * On error returns QAS_EINVAL (or QAS_ENOMEM); err->line is the line and
 * err->msg "<source>:<line>: <what>". */
int qas_parse_taskset(const char *text, size_t len, const char *source, const struct qas_parse_io *io,
                      struct qas_taskset *ts, struct qas_err *err);

/* One distribution expression such as "uniform(1,2)" or "hist(0.5, 1 4 2)". */
int qas_parse_dist(const char *expr, const struct qas_parse_io *io, struct qas_spec *out, struct qas_err *err);

#endif
