/*
 * The scenario parser: one declarative, line-oriented file per boot scenario
 * (config/<name>.scenario, format in docs/scenarios.md). The same code runs
 * on the host (tools/scenario-check: `make check`, the boot module list of
 * tools/boot.sh) and in the root task (components/root), so what was checked
 * before boot is exactly what the root starts.
 *
 * Freestanding: no allocation, no libc beyond the string functions; the
 * result is one fixed-size structure, every limit below is checked and
 * reported as an error with its line.
 *
 * Two forms, never mixed in one file:
 *
 *   module <program> [args...]        raw boot modules (kernel tests): the
 *                                      first is the root task itself
 *
 *   component <name> <program> [args...]   a component started by
 *                                      components/root; the lines after it
 *                                      (up to the next `component`) say:
 *     quota <size>                     memory it may take (K, M, G suffix)
 *     priority <0..255>                priority of its threads, and the most
 *                                      it may give its own threads
 *     provides <service>               it serves <service> on its main thread
 *     uses <service> [from <component>]  a route: the component gets a
 *                                      capability to <service> of <component>
 *                                      (without `from`: of the root, which
 *                                      provides log, memory, files, threads,
 *                                      loader and sched)
 *     env <KEY>=<value>                an environment variable
 *     expect fault                     it is meant to fault (containment
 *                                      tests): the scenario's status does
 *                                      not count its fault, but would count
 *                                      its normal exit
 *     reads <file>                     it may read boot file <file> (through
 *                                      the root's `files` service and open())
 *   file <name> <path>                 (anywhere; not part of a component) a
 *                                      data boot module: <path> relative to
 *                                      the repository
 *
 * A route names a provider that exists and provides the service (routes
 * and `reads` may name what is declared later); a service used without
 * `from` must be a root service; no component routes to itself. Names are
 * [a-z0-9_-], 1 to SCN_NAME_MAX-1 characters; programs also allow '.' and
 * '+'. The lines are checked in order, then the references in file order:
 * the error is the first unreadable line, else the first bad reference.
 */
#ifndef DROPS_SCENARIO_H
#define DROPS_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#define SCN_NAME_MAX 32       /* including the terminating NUL */
#define SCN_COMPONENTS_MAX 32
#define SCN_MODULES_MAX 16    /* `module` lines: the kernel takes 16 boot modules (ABI_KIP_MODULE_MAX) */
#define SCN_FILES_MAX 16      /* top-level `file` lines */
#define SCN_PROVIDES_MAX 8    /* per component */
#define SCN_USES_MAX 16       /* per component */
#define SCN_ENV_MAX 8         /* per component */
#define SCN_FILE_USES_MAX 8   /* per component */
#define SCN_ARGS_MAX 16       /* arguments after the program */
#define SCN_TEXT_MAX 512      /* bytes of arguments (or env values) per line, with NULs */
#define SCN_PATH_MAX 128
#define SCN_LINE_MAX 1024     /* longer lines are an error */
#define SCN_DEFAULT_QUOTA (4ull << 20)
#define SCN_DEFAULT_PRIORITY 100u
#define SCN_QUOTA_MAX (1ull << 40)

/* The root's own services, usable without `from`. */
#define SCN_ROOT_SERVICES "log", "memory", "files", "threads", "loader", "sched"
#define SCN_PROVIDER_ROOT (-1)

/* An argument vector: argv[i] point into text, of this very structure (a
 * copy of a struct scenario still points into the original). */
struct scn_argv {
    unsigned argc;
    const char *argv[SCN_ARGS_MAX + 1]; /* the program and its arguments */
    char text[SCN_TEXT_MAX];
};

struct scn_use {
    char service[SCN_NAME_MAX];
    char from[SCN_NAME_MAX]; /* the provider as written; "" for the root */
    int provider; /* component index, or SCN_PROVIDER_ROOT */
    unsigned line;
};

/* A `reads` line as written; the component's files[] holds it resolved. */
struct scn_read {
    char file[SCN_NAME_MAX];
    unsigned line;
};

struct scn_component {
    char name[SCN_NAME_MAX];
    char program[SCN_NAME_MAX];
    struct scn_argv args; /* args.argv[0] is the program name */
    uint64_t quota;       /* bytes */
    unsigned priority;
    unsigned nprovides, nuses, nenv, nfiles;
    char provides[SCN_PROVIDES_MAX][SCN_NAME_MAX];
    struct scn_use uses[SCN_USES_MAX];
    char env[SCN_ENV_MAX][SCN_TEXT_MAX / 4]; /* "KEY=value" */
    int files[SCN_FILE_USES_MAX];            /* indexes into scenario.files */
    unsigned expect_fault;                   /* `expect fault` */
    struct scn_read reads[SCN_FILE_USES_MAX];
    unsigned line;
};

struct scn_module {
    char program[SCN_NAME_MAX];
    struct scn_argv args; /* args.argv[0] is the program name */
    unsigned line;
};

struct scn_file {
    char name[SCN_NAME_MAX];
    char path[SCN_PATH_MAX];
    unsigned line;
};

enum scn_form { SCN_FORM_NONE, SCN_FORM_MODULES, SCN_FORM_COMPONENTS };

struct scenario {
    enum scn_form form;
    unsigned nmodules, ncomponents, nfiles;
    struct scn_module modules[SCN_MODULES_MAX];
    struct scn_component components[SCN_COMPONENTS_MAX];
    struct scn_file files[SCN_FILES_MAX];
};

struct scn_error {
    unsigned line; /* 1-based; 0 when not tied to a line */
    char message[160];
};

/* Parse `len` bytes of scenario text into *out. 0 on success; otherwise -1
 * and *err says where and why (the first error only). */
int scenario_parse(const char *text, size_t len, struct scenario *out, struct scn_error *err);

/* Index of the component called `name`, or -1. */
int scenario_find(const struct scenario *s, const char *name);

/* Index of the file module called `name`, or -1. */
int scenario_find_file(const struct scenario *s, const char *name);

/*
 * The boot modules of the component form, in this order (tools/scenario-check
 * --modules prints them; the root finds each by its index):
 *   0  the root task (root.elf)
 *   1  the scenario file itself
 *   2  .. 2+n-1: the n distinct programs, in order of first use
 *   then the top-level files, in order of declaration (command line "<path> <name>")
 * scenario_programs stores the program names in that order in programs[]
 * (pointers into *s) and returns n.
 */
unsigned scenario_programs(const struct scenario *s, const char *programs[SCN_COMPONENTS_MAX]);

#endif
