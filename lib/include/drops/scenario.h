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
 *                                      provides log, memory, files, threads)
 *     env <KEY>=<value>                an environment variable
 *     reads <file>                     it may read boot file <file> (through
 *                                      the root's `files` service and open())
 *   file <name> <path>                 (anywhere; not part of a component) a
 *                                      data boot module: <path> relative to
 *                                      the repository, declared before use
 *
 * A route names a provider that exists and provides the service; a service
 * used without `from` must be a root service. Names are [a-z0-9_-], 1 to
 * SCN_NAME_MAX-1 characters; programs also allow '.' and '+'.
 */
#ifndef DROPS_SCENARIO_H
#define DROPS_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#define SCN_NAME_MAX 32       /* including the terminating NUL */
#define SCN_COMPONENTS_MAX 32
#define SCN_MODULES_MAX 32    /* `module` lines */
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
#define SCN_ROOT_SERVICES "log", "memory", "files", "threads"
#define SCN_PROVIDER_ROOT (-1)

/* An argument vector: argv[i] point into text. */
struct scn_argv {
    unsigned argc;
    const char *argv[SCN_ARGS_MAX];
    char text[SCN_TEXT_MAX];
};

struct scn_use {
    char service[SCN_NAME_MAX];
    int provider; /* component index, or SCN_PROVIDER_ROOT */
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

#endif
