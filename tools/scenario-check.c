/*
 * tools/scenario-check: the scenario parser on the host. It links
 * lib/scenario.c, the source the root task links too, so a scenario checked
 * here is read the same way at boot. Built as $(BUILD)/host/scenario-check.
 *
 *   scenario-check [--build BUILD] FILE...
 *       Check each scenario file. With --build, also that every program is
 *       built (BUILD/user/<program>.elf; the component form also needs the
 *       root task, BUILD/user/root.elf) and every `file` path exists,
 *       relative to the current directory (the repository root).
 *
 *   scenario-check --modules BUILD FILE
 *       Check FILE as with --build and print its boot modules, one per
 *       line: the module's path, then a blank and its arguments if it has
 *       any. Module form: BUILD/user/<program>.elf and the arguments of
 *       each `module` line. Component form: BUILD/user/root.elf, FILE
 *       itself, each distinct program once in order of first use (no
 *       arguments: the root takes them from the scenario), then each file
 *       as "<path> <name>" (the order of drops/scenario.h).
 *
 * Errors go to stderr as "FILE:LINE: message" ("FILE: message" when no
 * line is to blame); the exit status is then 2.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "abi/kip.h"
#include "drops/scenario.h"

/* No scenario comes near this; it only bounds what a wrong argument reads. */
#define FILE_MAX (1u << 20)

static struct scenario scn; /* large: not on the stack */

static void report(const char *file, unsigned line, const char *message)
{
    if (line) fprintf(stderr, "%s:%u: %s\n", file, line, message);
    else fprintf(stderr, "%s: %s\n", file, message);
}

/* Read and parse `file` into scn; 0 or -1 (reported). */
static int load(const char *file)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        report(file, 0, strerror(errno));
        return -1;
    }
    char *text = malloc(FILE_MAX + 1);
    if (!text) {
        fclose(f);
        report(file, 0, "out of memory");
        return -1;
    }
    size_t len = fread(text, 1, FILE_MAX + 1, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad || len > FILE_MAX) {
        report(file, 0, bad ? "read error" : "larger than 1 MiB, not a scenario");
        free(text);
        return -1;
    }
    struct scn_error err;
    int rc = scenario_parse(text, len, &scn, &err);
    free(text);
    if (rc < 0) report(file, err.line, err.message);
    return rc;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void program_path(char *buf, size_t size, const char *build, const char *program)
{
    snprintf(buf, size, "%s/user/%s.elf", build, program);
}

/* Every program and file of scn exists; reports each missing one. */
static void file_path(char *buf, size_t size, const char *build, const char *path);

static int check_built(const char *file, const char *build)
{
    char path[4096], msg[4200];
    int rc = 0;
    if (scn.form == SCN_FORM_MODULES) {
        for (unsigned i = 0; i < scn.nmodules; i++) {
            program_path(path, sizeof path, build, scn.modules[i].program);
            if (is_file(path)) continue;
            snprintf(msg, sizeof msg, "module: program file missing: %s", path);
            report(file, scn.modules[i].line, msg);
            rc = -1;
        }
        return rc;
    }
    program_path(path, sizeof path, build, "root");
    if (!is_file(path)) {
        snprintf(msg, sizeof msg, "the component form needs the root task, missing: %s (components/root)", path);
        report(file, scn.components[0].line, msg);
        rc = -1;
    }
    for (unsigned i = 0; i < scn.ncomponents; i++) {
        program_path(path, sizeof path, build, scn.components[i].program);
        if (is_file(path)) continue;
        snprintf(msg, sizeof msg, "component '%s': program file missing: %s", scn.components[i].name, path);
        report(file, scn.components[i].line, msg);
        rc = -1;
    }
    for (unsigned i = 0; i < scn.nfiles; i++) {
        file_path(path, sizeof path, build, scn.files[i].path);
        if (is_file(path)) continue;
        snprintf(msg, sizeof msg, "file '%s': no such file: %s", scn.files[i].name, path);
        report(file, scn.files[i].line, msg);
        rc = -1;
    }
    return rc;
}

/* A `file` path: relative to the repository, or with the prefix "build:"
 * relative to the build directory (a program of the build as data, e.g.
 * the ELF file the loader fuzz test corrupts). */
static void file_path(char *buf, size_t size, const char *build, const char *path)
{
    if (!strncmp(path, "build:", 6)) snprintf(buf, size, "%s/%s", build, path + 6);
    else snprintf(buf, size, "%s", path);
}

/* One boot module: "<path>" or "<path> <args>". The kernel keeps
 * ABI_KIP_CMDLINE_MAX - 1 bytes of a command line; one with arguments must
 * fit, or the program would see them cut. */
static int module_line(const char *file, unsigned line, const char *path, const char *args, bool print)
{
    size_t n = strlen(path) + (args[0] ? 1 + strlen(args) : 0);
    if (args[0] && n > ABI_KIP_CMDLINE_MAX - 1) {
        char msg[300];
        snprintf(msg, sizeof msg, "the command line of module %s is %zu bytes with its arguments, the kernel keeps %u",
                 path, n, ABI_KIP_CMDLINE_MAX - 1);
        report(file, line, msg);
        return -1;
    }
    if (print) printf("%s%s%s\n", path, args[0] ? " " : "", args);
    return 0;
}

static void join_args(char *buf, size_t size, const struct scn_argv *a)
{
    buf[0] = 0;
    for (unsigned i = 1; i < a->argc; i++) {
        if (i > 1) strncat(buf, " ", size - strlen(buf) - 1);
        strncat(buf, a->argv[i], size - strlen(buf) - 1);
    }
}

/* Check every module line, then print them all (nothing on error). */
static int print_modules(const char *file, const char *build)
{
    char path[4096], args[SCN_TEXT_MAX + SCN_NAME_MAX];
    if (strpbrk(build, " \t\n") || strpbrk(file, " \t\n")) {
        report(file, 0, "a module path would contain a blank (in the build directory or the file name)");
        return -1;
    }
    for (int print = 0; print < 2; print++) {
        if (scn.form == SCN_FORM_MODULES) {
            for (unsigned i = 0; i < scn.nmodules; i++) {
                program_path(path, sizeof path, build, scn.modules[i].program);
                join_args(args, sizeof args, &scn.modules[i].args);
                if (module_line(file, scn.modules[i].line, path, args, print) < 0) return -1;
            }
            continue;
        }
        program_path(path, sizeof path, build, "root");
        module_line(file, 0, path, "", print);
        module_line(file, 0, file, "", print);
        const char *programs[SCN_COMPONENTS_MAX];
        unsigned n = scenario_programs(&scn, programs);
        for (unsigned i = 0; i < n; i++) {
            program_path(path, sizeof path, build, programs[i]);
            module_line(file, 0, path, "", print);
        }
        for (unsigned i = 0; i < scn.nfiles; i++) {
            file_path(path, sizeof path, build, scn.files[i].path);
            if (module_line(file, scn.files[i].line, path, scn.files[i].name, print) < 0) return -1;
        }
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: scenario-check [--build BUILD] FILE...\n"
                    "       scenario-check --modules BUILD FILE\n");
    return 2;
}

/* BUILD without trailing slashes, so paths read "build/user/x.elf". */
static const char *build_dir(const char *arg)
{
    static char build[4096];
    snprintf(build, sizeof build, "%s", arg);
    for (size_t n = strlen(build); n > 1 && build[n - 1] == '/'; n--) build[n - 1] = 0;
    return build;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--modules") == 0) {
        if (argc != 4) return usage();
        const char *build = build_dir(argv[2]);
        const char *file = argv[3];
        if (load(file) < 0 || check_built(file, build) < 0 || print_modules(file, build) < 0) return 2;
        return fflush(stdout) == 0 ? 0 : 2;
    }
    int first = 1;
    const char *build = NULL;
    if (argc >= 2 && strcmp(argv[1], "--build") == 0) {
        if (argc < 3) return usage();
        build = build_dir(argv[2]);
        first = 3;
    }
    if (first >= argc || argv[first][0] == '-') return usage();
    int status = 0;
    for (int i = first; i < argc; i++)
        if (load(argv[i]) < 0 || (build && check_built(argv[i], build) < 0)) status = 2;
    return status;
}
