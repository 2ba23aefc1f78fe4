/*
 * Host tests for lib/scenario.c, the scenario parser shared by
 * tools/scenario-check and the root task: well-formed files of both forms
 * read field by field, malformed ones refused with the right line and
 * message, every limit met exactly and then exceeded by one, and 10,000
 * random mutations of a valid file (under ASan/UBSan) that must each either
 * parse into a consistent structure or fail with a line inside the file.
 *
 * Each text is parsed from a malloc'd copy of exactly its length, freed
 * before the result is looked at: a read past the end, or a result that
 * still points into the caller's text, shows as an ASan error.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drops/scenario.h"
#include "tap.h"

static struct scenario S;
static struct scn_error E;

static int parse_bytes(const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    int rc = scenario_parse(copy, len, &S, &E);
    free(copy);
    return rc;
}

static int parse(const char *text)
{
    return parse_bytes(text, strlen(text));
}

/* A text built with printf-style appends (for generated files). */
static char big[256 * 1024];
static size_t big_len;

static void big_reset(void)
{
    big_len = 0;
    big[0] = 0;
}

__attribute__((format(printf, 1, 2))) static void add(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(big + big_len, sizeof big - big_len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof big - big_len) abort();
    big_len += (size_t)n;
}

static void add_repeat(char c, size_t n)
{
    if (big_len + n >= sizeof big) abort();
    memset(big + big_len, c, n);
    big_len += n;
    big[big_len] = 0;
}

/* The parse fails at `line` with a message containing `want`. */
static void check_error(int at, const char *text, size_t len, unsigned line, const char *want, bool exact)
{
    int rc = parse_bytes(text, len);
    bool good = rc == -1 && E.line == line && (exact ? strcmp(E.message, want) == 0 : strstr(E.message, want) != NULL);
    ok(good, "line %u: %s", line, want);
    if (!good) printf("#   (test at line %d) got %d, line %u: \"%s\"\n", at, rc, E.line, E.message);
}

#define bad(text, line, want) check_error(__LINE__, text, strlen(text), line, want, false)
#define bad_exact(text, line, want) check_error(__LINE__, text, strlen(text), line, want, true)
#define bad_bytes(text, len, line, want) check_error(__LINE__, text, len, line, want, false)

static void check_parses(int at, const char *text, size_t len, const char *what)
{
    int rc = parse_bytes(text, len);
    ok(rc == 0, "parses: %s", what);
    if (rc) printf("#   (test at line %d) line %u: %s\n", at, E.line, E.message);
}

#define good(text, what) check_parses(__LINE__, text, strlen(text), what)

static bool argv_is(const struct scn_argv *a, unsigned argc, const char *const *want)
{
    if (a->argc != argc) return false;
    for (unsigned i = 0; i < argc; i++)
        if (strcmp(a->argv[i], want[i]) != 0) return false;
    return true;
}

/* ---- well-formed files ---- */

static void test_module_form(void)
{
    good("# the root task first\n"
         "module test_ipc\n"
         "\n"
         "   \t\n"
         "module musl_hello a b  c\td   # trailing comment\n"
         "module x.y+z-1_2 k=v,w#comment without a blank\n",
         "module form");
    is(S.form, SCN_FORM_MODULES, "module form recognised");
    is(S.nmodules, 3, "three modules");
    is(S.ncomponents, 0, "no components");
    ok(strcmp(S.modules[0].program, "test_ipc") == 0 && S.modules[0].line == 2, "first module: program and line");
    ok(argv_is(&S.modules[0].args, 1, (const char *[]){"test_ipc"}), "no arguments: argv is the program");
    ok(argv_is(&S.modules[1].args, 5, (const char *[]){"musl_hello", "a", "b", "c", "d"}),
       "arguments split at blanks and tabs, comment dropped");
    is(S.modules[1].line, 5, "line numbers count blank lines");
    ok(strcmp(S.modules[2].program, "x.y+z-1_2") == 0, "programs may contain . + - _ and digits");
    ok(argv_is(&S.modules[2].args, 2, (const char *[]){"x.y+z-1_2", "k=v,w"}), "'#' inside a word starts a comment");
}

static const char component_text[] =
    "# A media pipeline: routes to components declared later, files before and after.\n"
    "file song media/song.raw\n"
    "component dec decoder --fast -v\n"
    "  quota 16M\n"
    "  priority 120\n"
    "  provides frames\n"
    "  provides control\n"
    "  uses log\n"
    "  uses clock from timer    # timer comes later\n"
    "  env RATE=44100\n"
    "  env EMPTY=\n"
    "  env URL=http://x/?a=b\n"
    "  reads song\n"
    "  reads table              # declared at the end\n"
    "component timer timerd\n"
    "  provides clock\n"
    "component player decoder\n"
    "  uses frames from dec\n"
    "  uses memory\n"
    "  quota 1\n"
    "  priority 0\n"
    "file table data/table.bin\n"
    "component mixer mix\n"
    "  priority 255\n"
    "  expect fault\n"
    "  quota 1024G\n";

static void test_component_form(void)
{
    good(component_text, "component form");
    is(S.form, SCN_FORM_COMPONENTS, "component form recognised");
    is(S.ncomponents, 4, "four components");
    is(S.nfiles, 2, "two files");
    const struct scn_component *dec = &S.components[0], *timer = &S.components[1], *player = &S.components[2],
                               *mixer = &S.components[3];
    ok(strcmp(dec->name, "dec") == 0 && strcmp(dec->program, "decoder") == 0 && dec->line == 3,
       "dec: name, program, line");
    ok(argv_is(&dec->args, 3, (const char *[]){"decoder", "--fast", "-v"}), "dec: arguments");
    is(dec->quota, 16ull << 20, "dec: quota 16M");
    is(dec->priority, 120, "dec: priority");
    ok(dec->nprovides == 2 && strcmp(dec->provides[0], "frames") == 0 && strcmp(dec->provides[1], "control") == 0,
       "dec: provides frames and control");
    is(dec->nuses, 2, "dec: two routes");
    ok(strcmp(dec->uses[0].service, "log") == 0 && dec->uses[0].provider == SCN_PROVIDER_ROOT &&
           dec->uses[0].from[0] == 0 && dec->uses[0].line == 8,
       "dec: log from the root");
    ok(strcmp(dec->uses[1].service, "clock") == 0 && dec->uses[1].provider == 1 &&
           strcmp(dec->uses[1].from, "timer") == 0,
       "dec: clock from timer, declared later, resolved to index 1");
    ok(dec->nenv == 3 && strcmp(dec->env[0], "RATE=44100") == 0 && strcmp(dec->env[1], "EMPTY=") == 0 &&
           strcmp(dec->env[2], "URL=http://x/?a=b") == 0,
       "dec: env, an empty value and '=' in a value");
    ok(dec->nfiles == 2 && dec->files[0] == 0 && dec->files[1] == 1, "dec: reads song (before) and table (after)");
    ok(strcmp(dec->reads[1].file, "table") == 0 && dec->reads[1].line == 14, "dec: reads as written, with lines");
    is(timer->quota, SCN_DEFAULT_QUOTA, "timer: default quota");
    is(timer->priority, SCN_DEFAULT_PRIORITY, "timer: default priority");
    ok(timer->nuses == 0 && timer->nenv == 0 && timer->nfiles == 0, "timer: nothing else");
    ok(player->uses[0].provider == 0 && player->uses[1].provider == SCN_PROVIDER_ROOT,
       "player: frames from dec, memory from the root");
    is(player->quota, 1, "player: quota 1 byte");
    is(player->priority, 0, "player: priority 0");
    is(mixer->priority, 255, "mixer: priority 255");
    is(mixer->quota, SCN_QUOTA_MAX, "mixer: quota 1024G is the limit");
    ok(mixer->expect_fault == 1 && dec->expect_fault == 0, "mixer: expect fault, the others not");
    ok(strcmp(S.files[0].name, "song") == 0 && strcmp(S.files[0].path, "media/song.raw") == 0 && S.files[0].line == 2,
       "file song: name, path, line");
    is(scenario_find(&S, "player"), 2, "scenario_find");
    is(scenario_find(&S, "nobody"), -1, "scenario_find: missing");
    is(scenario_find_file(&S, "table"), 1, "scenario_find_file");
    is(scenario_find_file(&S, "dec"), -1, "scenario_find_file: components are not files");
    const char *programs[SCN_COMPONENTS_MAX];
    unsigned n = scenario_programs(&S, programs);
    ok(n == 3 && strcmp(programs[0], "decoder") == 0 && strcmp(programs[1], "timerd") == 0 &&
           strcmp(programs[2], "mix") == 0,
       "scenario_programs: distinct programs in order of first use");

    /* The same text with CR LF line ends and no final line end. */
    char crlf[sizeof component_text * 2];
    size_t k = 0;
    for (const char *c = component_text; *c; c++) {
        if (*c == '\n') crlf[k++] = '\r';
        crlf[k++] = *c;
    }
    k -= 2; /* drop the last CR LF */
    check_parses(__LINE__, crlf, k, "CR LF line ends, no final line end");
    ok(S.ncomponents == 4 && S.components[3].quota == SCN_QUOTA_MAX, "CR LF: the last line without its end is read");
}

static void test_small_good(void)
{
    good("module a\r", "a CR ending the file is a line end");
    good("module a", "no final line end");
    good("component a p\nfile f x\nquota 8K\n", "a file line does not end the component");
    is(S.components[0].quota, 8192, "the quota after the file line is the component's");
    good("component a p\nenv A=1\nenv AB=2\nenv B=A=1\n", "env keys that share a prefix");
    good("component a p\n  provides log\ncomponent b q\n  uses log from a\ncomponent c q\n  uses log\n",
         "a component may provide a root service's name");
    ok(S.components[1].uses[0].provider == 0 && S.components[2].uses[0].provider == SCN_PROVIDER_ROOT,
       "with 'from' the route goes to the component, without to the root");
}

static void test_quota_forms(void)
{
    static const struct {
        const char *word;
        uint64_t bytes;
    } cases[] = {
        {"1", 1},
        {"4096", 4096},
        {"4K", 4096},
        {"3M", 3u << 20},
        {"2G", 2ull << 30},
        {"007M", 7u << 20},
        {"1073741824K", SCN_QUOTA_MAX},
        {"1099511627776", SCN_QUOTA_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "component a p\nquota %s\n", cases[i].word);
        int rc = parse(text);
        ok(rc == 0 && S.components[0].quota == cases[i].bytes, "quota %s is %llu bytes", cases[i].word,
           (unsigned long long)cases[i].bytes);
    }
}

/* ---- malformed files ---- */

static void test_lines_and_bytes(void)
{
    bad_exact("module a\nmodul tour\n", 2, "unknown keyword 'modul'");
    bad_exact("Module a\n", 1, "unknown keyword 'Module'");
    bad("\n\n\n", 3, "no component in scenario");
    bad_exact("", 1, "no component in scenario");
    bad("# nothing\nfile f x\n", 2, "no component in scenario");
    bad_bytes("module a\nmodule b\x00\n", 18, 2, "NUL byte");
    bad("module a\n# a bell \a in a comment\n", 2, "non-printable byte 0x07");
    bad("module a\x7f\n", 1, "non-printable byte 0x7f");
    bad("module a\rb\n", 1, "non-printable byte 0x0d");
    bad("module a\r\r\n", 1, "non-printable byte 0x0d");
    bad("module \xc3\xa9t\xc3\xa9\n", 1, "non-ASCII byte 0xc3 outside a comment");
    good("module a # \xc3\xa9t\xc3\xa9 UTF-8 in a comment\n", "UTF-8 in a comment");
    bad("module a\nmodule b\x01\n", 2, "non-printable byte 0x01");

    /* SCN_LINE_MAX bytes is the longest line, with or without CR. */
    big_reset();
    add("module a #");
    add_repeat('x', SCN_LINE_MAX - 10);
    add("\r\n");
    check_parses(__LINE__, big, big_len, "a line of exactly SCN_LINE_MAX bytes before CR LF");
    big_reset();
    add("module a\n# ");
    add_repeat('x', SCN_LINE_MAX - 1);
    add("\n");
    bad_exact(big, 2, "line too long (more than 1024 bytes)");

    bad_exact("quota 4M\ncomponent a p\n", 1, "'quota' outside a component");
    bad_exact("module a\npriority 3\n", 2, "'priority' outside a component");
    bad("provides x\n", 1, "'provides' outside a component");
    bad("uses log\n", 1, "'uses' outside a component");
    bad("env A=1\n", 1, "'env' outside a component");
    bad("file f x\nreads f\n", 2, "'reads' outside a component");
}

static void test_forms(void)
{
    bad_exact("module a\ncomponent b c\n", 2, "cannot mix 'module' and 'component' lines");
    bad_exact("component b c\nmodule a\n", 2, "cannot mix 'module' and 'component' lines");
    bad("file f x\nmodule a\n", 2, "cannot mix 'module' and 'file' lines");
    bad("module a\nfile f x\n", 2, "cannot mix 'module' and 'file' lines");
    bad_exact("module\n", 1, "module: missing program name");
    bad("module Tour\n", 1, "module: bad program name 'Tour'");
    bad("module a/b\n", 1, "module: bad program name 'a/b'");
    bad("module a\nmodule 0123456789012345678901234567890123\n", 2,
        "module: program name '0123456789012345678901234567890123' is longer than 31 characters");
    good("module 0123456789012345678901234567890\n", "a program name of 31 characters");
    bad_exact("component a\n", 1, "component: expected a name and a program");
    bad("component A p\n", 1, "component: bad component name 'A'");
    bad("component a.b p\n", 1, "component: bad component name 'a.b'");
    bad("component a P\n", 1, "component: bad program name 'P'");
    bad("component 01234567890123456789012345678901 p\n", 1, "is longer than 31 characters");
    bad_exact("component a p\ncomponent b p\n\ncomponent a q\n", 4, "component 'a' declared twice (first at line 1)");
}

static void test_component_lines(void)
{
    const char *c = "component a p\n";
    char t[512];
#define WITH(body) (snprintf(t, sizeof t, "%s%s", c, body), t)
    bad_exact(WITH("quota 12Q\n"), 2, "quota: '12Q' is not a size (digits with K, M or G)");
    bad(WITH("quota 12k\n"), 2, "quota: '12k' is not a size");
    bad(WITH("quota M\n"), 2, "quota: 'M' is not a size");
    bad(WITH("quota 1.5M\n"), 2, "quota: '1.5M' is not a size");
    bad(WITH("quota -1\n"), 2, "quota: '-1' is not a size");
    bad(WITH("quota 4MB\n"), 2, "quota: '4MB' is not a size");
    bad(WITH("quota 0\n"), 2, "quota: '0' is zero");
    bad(WITH("quota 0G\n"), 2, "quota: '0G' is zero");
    bad(WITH("quota 1025G\n"), 2, "quota: '1025G' is more than the limit of 1024G");
    bad(WITH("quota 1099511627777\n"), 2, "is more than the limit");
    bad(WITH("quota 1073741825K\n"), 2, "is more than the limit");
    bad(WITH("quota 18446744073709551615\n"), 2, "is more than the limit");
    bad(WITH("quota 18446744073709551616\n"), 2, "is more than the limit");
    bad(WITH("quota 99999999999999999999999999999999G\n"), 2, "is more than the limit");
    bad(WITH("quota\n"), 2, "quota: expected one size");
    bad(WITH("quota 1M 2M\n"), 2, "quota: expected one size");
    bad_exact(WITH("quota 1M\n\nquota 2M\n"), 4, "quota: given twice for component 'a' (first at line 2)");

    bad_exact(WITH("priority 300\n"), 2, "priority: 300 is above 255");
    bad(WITH("priority 256\n"), 2, "priority: 256 is above 255");
    bad(WITH("priority 99999999999999999999999\n"), 2, "priority: 99999999999999999999999 is above 255");
    bad_exact(WITH("priority x\n"), 2, "priority: 'x' is not a number (0 to 255)");
    bad(WITH("priority -1\n"), 2, "priority: '-1' is not a number");
    bad(WITH("priority 1 2\n"), 2, "priority: expected one number from 0 to 255");
    bad(WITH("priority 1\npriority 2\n"), 3, "priority: given twice for component 'a' (first at line 2)");

    bad(WITH("provides\n"), 2, "provides: expected one service name");
    bad(WITH("provides Frames\n"), 2, "provides: bad service name 'Frames'");
    bad_exact(WITH("provides x\nprovides x\n"), 3, "provides: 'x' provided twice for component 'a'");

    bad(WITH("uses\n"), 2, "uses: expected '<service>' or '<service> from <component>'");
    bad(WITH("uses a b\n"), 2, "uses: expected");
    bad(WITH("uses a to b\n"), 2, "uses: expected");
    bad(WITH("uses a from b c\n"), 2, "uses: expected");
    bad(WITH("uses a from B\n"), 2, "uses: bad component name 'B'");
    bad_exact(WITH("uses frames\n"), 2,
              "uses: 'frames' is not a root service (log, memory, files, threads, loader, sched): name its provider with 'from'");
    bad_exact(WITH("uses log\nuses memory\nuses log\n"), 4,
              "uses: 'log' used twice by component 'a' (first at line 2)");
    bad_exact(WITH("provides x\nuses x from a\n"), 3, "uses: component 'a' cannot use its own service 'x'");
    bad_exact(WITH("uses x from nobody\n"), 2, "uses: no component 'nobody'");
    bad_exact("component dec d\nprovides audio\ncomponent b p\nuses frames from dec\n", 4,
              "uses: component 'dec' does not provide 'frames'");
    bad("component b p\nuses frames from dec\ncomponent dec d\nprovides audio\n", 2,
        "uses: component 'dec' does not provide 'frames'");
    good("component f filter\nprovides frames\nuses frames from dec\ncomponent dec d\nprovides frames\n",
         "a filter uses a service of the name it provides, from another component");

    bad_exact(WITH("env FOO\n"), 2, "env: expected KEY=value");
    bad(WITH("env =x\n"), 2, "env: expected KEY=value");
    bad(WITH("env\n"), 2, "env: expected KEY=value");
    bad(WITH("env A=1 B=2\n"), 2, "env: expected KEY=value");
    bad(WITH("env 1A=x\n"), 2, "env: bad variable name '1A'");
    bad(WITH("env A-B=x\n"), 2, "env: bad variable name 'A-B'");
    bad_exact(WITH("env A=1\nenv A=2\n"), 3, "env: 'A' set twice for component 'a'");

    bad_exact(WITH("expect\n"), 2, "expect: expected 'expect fault'");
    bad(WITH("expect fault now\n"), 2, "expect: expected 'expect fault'");
    bad_exact(WITH("expect exit\n"), 2, "expect: unknown expectation 'exit' (only 'fault')");
    bad_exact(WITH("expect fault\nexpect fault\n"), 3, "expect: given twice for component 'a'");
    bad("module a\nexpect fault\n", 2, "'expect' outside a component");

    bad(WITH("reads\n"), 2, "reads: expected one file name");
    bad_exact(WITH("reads x\n"), 2, "reads: no file 'x' declared");
    bad(WITH("reads f\nreads f\nfile f x\n"), 3, "reads: 'f' read twice for component 'a'");

    bad(WITH("file f\n"), 2, "file: expected a name and a path");
    bad(WITH("file f a b\n"), 2, "file: expected a name and a path");
    bad(WITH("file F a\n"), 2, "file: bad file name 'F'");
    bad(WITH("file f /etc/passwd\n"), 2, "file: path '/etc/passwd' is absolute");
    bad(WITH("file f a/../b\n"), 2, "file: path 'a/../b' has a '..' step");
    bad(WITH("file f ..\n"), 2, "has a '..' step");
    bad(WITH("file f x/..\n"), 2, "has a '..' step");
    good(WITH("file f ..a/b..\n"), "'..' inside a name is not a step");
    bad_exact(WITH("file f x\nfile g y\nfile f z\n"), 4, "file 'f' declared twice (first at line 2)");
#undef WITH
}

/* References are resolved after the last line, in file order. */
static void test_reference_order(void)
{
    bad("component a p\nreads nofile\nuses x from b\ncomponent b q\n", 2, "reads: no file 'nofile' declared");
    bad("component a p\nuses x from b\nreads nofile\ncomponent b q\n", 2, "component 'b' does not provide 'x'");
    bad("component a p\nuses log\nreads f\ncomponent b q\nuses y from a\n", 3, "reads: no file 'f'");
    /* A line that cannot be read at all wins over a reference before it:
     * references are only resolved once every line is read. */
    bad("component a p\nuses x from zz\nbogus\n", 3, "unknown keyword 'bogus'");
}

static void test_messages_cut(void)
{
    big_reset();
    add("module a\n");
    add_repeat('k', 200);
    add("\n");
    bad_exact(big, 2, "unknown keyword 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...'");
    big_reset();
    add("component a p\nuses ");
    add_repeat('s', 31);
    add(" from ");
    add_repeat('c', 31);
    add("\n");
    int rc = parse_bytes(big, big_len);
    ok(rc == -1 && E.line == 2 && strlen(E.message) < sizeof E.message && strstr(E.message, "no component"),
       "a long message stays inside its buffer: %s", E.message);
}

/* ---- limits: the most allowed parses, one more is refused ---- */

static void test_limits(void)
{
    /* Arguments: SCN_ARGS_MAX after the program. */
    big_reset();
    add("module a");
    for (int i = 0; i < SCN_ARGS_MAX; i++) add(" %d", i);
    add("\n");
    check_parses(__LINE__, big, big_len, "SCN_ARGS_MAX arguments");
    is(S.modules[0].args.argc, SCN_ARGS_MAX + 1, "argc counts the program");
    ok(strcmp(S.modules[0].args.argv[SCN_ARGS_MAX], "15") == 0, "the last argument");
    big_reset();
    add("component c a");
    for (int i = 0; i <= SCN_ARGS_MAX; i++) add(" %d", i);
    add("\n");
    bad(big, 1, "component: too many arguments (at most 16)");
    big_reset();
    add("module a");
    for (int i = 0; i < 100; i++) add(" %d", i);
    add("\n");
    bad(big, 1, "module: too many arguments (at most 16)");

    /* Argument text: SCN_TEXT_MAX bytes with the NULs and the program. */
    big_reset();
    add("module a "); /* "a\0" + 3 words of 169 + NUL = 2 + 510 = 512 */
    for (int i = 0; i < 3; i++) {
        add_repeat('a' + (char)i, 169);
        add(" ");
    }
    add("\n");
    check_parses(__LINE__, big, big_len, "SCN_TEXT_MAX bytes of arguments");
    ok(S.modules[0].args.argc == 4 && strlen(S.modules[0].args.argv[3]) == 169 && S.modules[0].args.argv[3][0] == 'c',
       "long arguments kept whole");
    big_reset();
    add("module a ");
    add_repeat('x', 169 * 3 + 3);
    add("\n");
    bad(big, 1, "module: arguments too long (at most 512 bytes with the program name)");

    /* Modules: SCN_MODULES_MAX (the kernel's 16). */
    big_reset();
    for (int i = 0; i < SCN_MODULES_MAX; i++) add("module m%d\n", i);
    check_parses(__LINE__, big, big_len, "SCN_MODULES_MAX modules");
    add("module one_more\n");
    bad(big, SCN_MODULES_MAX + 1, "module: too many modules (the kernel takes at most 16)");

    /* Components: SCN_COMPONENTS_MAX, sharing programs so the boot modules fit. */
    big_reset();
    for (int i = 0; i < SCN_COMPONENTS_MAX; i++) add("component c%d prog%d\n", i, i % 4);
    check_parses(__LINE__, big, big_len, "SCN_COMPONENTS_MAX components");
    add("component one_more prog0\n");
    bad_exact(big, SCN_COMPONENTS_MAX + 1, "component: too many components (at most 32)");

    /* Per component: provides, uses, env, reads. */
    big_reset();
    add("component a p\n");
    for (int i = 0; i < SCN_PROVIDES_MAX; i++) add("provides s%d\n", i);
    check_parses(__LINE__, big, big_len, "SCN_PROVIDES_MAX services");
    add("provides more\n");
    bad_exact(big, SCN_PROVIDES_MAX + 2, "provides: too many services (at most 8 per component)");

    big_reset();
    add("component b p\n");
    for (int i = 0; i < SCN_USES_MAX; i++) add("uses u%d from c%d\n", i, i / SCN_PROVIDES_MAX);
    for (int k = 0; k < 2; k++) {
        add("component c%d p\n", k);
        for (int i = 0; i < SCN_PROVIDES_MAX; i++) add("provides u%d\n", k * SCN_PROVIDES_MAX + i);
    }
    check_parses(__LINE__, big, big_len, "SCN_USES_MAX routes, to providers declared later");
    ok(S.components[0].nuses == SCN_USES_MAX && S.components[0].uses[SCN_USES_MAX - 1].provider == 2,
       "the last route resolved to the second provider");
    big_reset();
    add("component b p\n");
    for (int i = 0; i <= SCN_USES_MAX; i++) add("uses u%d from c\n", i);
    bad_exact(big, SCN_USES_MAX + 2, "uses: too many routes (at most 16 per component)");

    big_reset();
    add("component a p\n");
    for (int i = 0; i < SCN_ENV_MAX; i++) add("env K%d=%d\n", i, i);
    check_parses(__LINE__, big, big_len, "SCN_ENV_MAX variables");
    add("env MORE=1\n");
    bad_exact(big, SCN_ENV_MAX + 2, "env: too many variables (at most 8 per component)");

    /* An env word of SCN_TEXT_MAX / 4 - 1 bytes fits, one more does not. */
    big_reset();
    add("component a p\nenv K=");
    add_repeat('v', SCN_TEXT_MAX / 4 - 1 - 2);
    add("\n");
    check_parses(__LINE__, big, big_len, "an env word of 127 bytes");
    is(strlen(S.components[0].env[0]), SCN_TEXT_MAX / 4 - 1, "the env word kept whole");
    big_reset();
    add("component a p\nenv K=");
    add_repeat('v', SCN_TEXT_MAX / 4 - 2);
    add("\n");
    bad(big, 2, "is longer than 127 bytes");

    big_reset();
    add("component a p\n");
    for (int i = 0; i < SCN_FILE_USES_MAX; i++) add("reads f%d\n", i);
    for (int i = 0; i < SCN_FILE_USES_MAX; i++) add("file f%d x%d\n", i, i);
    check_parses(__LINE__, big, big_len, "SCN_FILE_USES_MAX reads");
    ok(S.components[0].files[SCN_FILE_USES_MAX - 1] == SCN_FILE_USES_MAX - 1, "the last read resolved");
    big_reset();
    add("component a p\n");
    for (int i = 0; i <= SCN_FILE_USES_MAX; i++) add("reads f%d\n", i);
    bad_exact(big, SCN_FILE_USES_MAX + 2, "reads: too many files (at most 8 per component)");

    /* Files: SCN_FILES_MAX is refused by the boot module count first (root
     * and scenario take two of the kernel's 16), so the file limit is
     * checked on its own line, and the module count separately. */
    big_reset();
    add("component a p\n");
    for (int i = 0; i < SCN_FILES_MAX; i++) add("file f%d x\n", i);
    add("file more x\n");
    bad_exact(big, SCN_FILES_MAX + 2, "file: too many files (at most 16)");

    /* Paths: SCN_PATH_MAX - 1 bytes. */
    big_reset();
    add("component a p\nfile f ");
    add_repeat('p', SCN_PATH_MAX - 1);
    add("\n");
    check_parses(__LINE__, big, big_len, "a path of 127 bytes");
    big_reset();
    add("component a p\nfile f ");
    add_repeat('p', SCN_PATH_MAX);
    add("\n");
    bad(big, 2, "is longer than 127 bytes");

    /* Boot modules: root + scenario + programs + files <= 16. */
    big_reset();
    for (int i = 0; i < 14; i++) add("component c%d p%d\n", i, i);
    check_parses(__LINE__, big, big_len, "14 programs: 16 boot modules");
    add("component c14 p3\n");
    check_parses(__LINE__, big, big_len, "a program used twice is one boot module");
    add("component c15 p14\n");
    bad_exact(big, 16,
              "too many boot modules: root, scenario, 15 programs and 0 files make 17, the kernel takes at most 16");
    big_reset();
    for (int i = 0; i < 10; i++) add("component c%d p%d\n", i, i);
    for (int i = 0; i < 5; i++) add("file f%d x\n", i);
    bad(big, 15, "10 programs and 5 files make 17");
    big_reset();
    for (int i = 0; i < 5; i++) add("file f%d x\n", i);
    for (int i = 0; i < 10; i++) add("component c%d p%d\n", i, i);
    bad(big, 5, "10 programs and 5 files make 17"); /* files come after the programs: f4 is the 17th module */
}

/* ---- random mutations ---- */

static uint64_t rng_state = 0x5eed5ce7a1105ull;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static unsigned count_lines(const char *t, size_t n)
{
    unsigned lines = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] == '\n') lines++;
    if (n && t[n - 1] != '\n') lines++;
    return lines ? lines : 1;
}

static bool inside(const void *p, const void *base, size_t size)
{
    return (const char *)p >= (const char *)base && (const char *)p < (const char *)base + size;
}

static bool terminated(const char *s, size_t size)
{
    return memchr(s, 0, size) != NULL;
}

/* What a successful parse promises the root task. */
static bool consistent(void)
{
    if (S.form == SCN_FORM_MODULES) {
        if (S.nmodules < 1 || S.nmodules > SCN_MODULES_MAX || S.ncomponents || S.nfiles) return false;
        for (unsigned i = 0; i < S.nmodules; i++) {
            const struct scn_argv *a = &S.modules[i].args;
            if (a->argc < 1 || a->argc > SCN_ARGS_MAX + 1 || strcmp(a->argv[0], S.modules[i].program)) return false;
            for (unsigned k = 0; k < a->argc; k++)
                if (!inside(a->argv[k], a->text, sizeof a->text) ||
                    !terminated(a->argv[k], (size_t)(a->text + sizeof a->text - a->argv[k])))
                    return false;
        }
        return true;
    }
    if (S.form != SCN_FORM_COMPONENTS || S.nmodules || S.ncomponents < 1 || S.ncomponents > SCN_COMPONENTS_MAX ||
        S.nfiles > SCN_FILES_MAX)
        return false;
    const char *programs[SCN_COMPONENTS_MAX];
    if (2 + scenario_programs(&S, programs) + S.nfiles > 16) return false;
    for (unsigned i = 0; i < S.ncomponents; i++) {
        const struct scn_component *c = &S.components[i];
        if (!terminated(c->name, sizeof c->name) || scenario_find(&S, c->name) != (int)i) return false;
        if (c->quota == 0 || c->quota > SCN_QUOTA_MAX || c->priority > 255) return false;
        if (c->nprovides > SCN_PROVIDES_MAX || c->nuses > SCN_USES_MAX || c->nenv > SCN_ENV_MAX ||
            c->nfiles > SCN_FILE_USES_MAX)
            return false;
        for (unsigned k = 0; k < c->nuses; k++) {
            int p = c->uses[k].provider;
            if (p == SCN_PROVIDER_ROOT ? c->uses[k].from[0] != 0 : (p < 0 || p >= (int)S.ncomponents || p == (int)i))
                return false;
        }
        for (unsigned k = 0; k < c->nfiles; k++)
            if (c->files[k] < 0 || c->files[k] >= (int)S.nfiles) return false;
        for (unsigned k = 0; k < c->nenv; k++)
            if (!terminated(c->env[k], sizeof c->env[k]) || !strchr(c->env[k], '=')) return false;
    }
    return true;
}

static void test_mutations(void)
{
    static const char *const inserts[] = {"module x\n", "component z q\n", "uses log\n", "uses frames from dec\n",
                                          "quota 99999999999999999999G\n", "#", "\n", " ", "\r", "\r\n", "=",
                                          "from", "file t y\n", "reads table\n", "priority 256\n", "env A=",
                                          "provides clock\n", "expect fault\n"};
    const size_t base = strlen(component_text);
    size_t cap = base + 4096;
    char *t = malloc(cap);
    unsigned parsed = 0, refused = 0, bad_error = 0, bad_result = 0, first_bad = 0;
    for (unsigned round = 0; round < 10000; round++) {
        size_t n = base;
        memcpy(t, component_text, n);
        unsigned edits = 1 + (unsigned)(rng() % 4);
        for (unsigned e = 0; e < edits; e++) {
            size_t at = n ? (size_t)(rng() % n) : 0;
            switch (rng() % 6) {
            case 0: /* overwrite a byte with anything */
                if (n) t[at] = (char)rng();
                break;
            case 1: /* overwrite a byte with a printable or structural one */
                if (n) t[at] = " #\n\t=aZ9-./"[rng() % 11];
                break;
            case 2: /* delete a run */
            {
                size_t k = 1 + (size_t)(rng() % 16);
                if (k > n - at) k = n - at;
                memmove(t + at, t + at + k, n - at - k);
                n -= k;
                break;
            }
            case 3: /* insert a snippet */
            {
                const char *s = inserts[rng() % (sizeof inserts / sizeof inserts[0])];
                size_t k = strlen(s);
                if (n + k > cap) break;
                memmove(t + at + k, t + at, n - at);
                memcpy(t + at, s, k);
                n += k;
                break;
            }
            case 4: /* duplicate a run (lines, words) */
            {
                size_t k = 1 + (size_t)(rng() % 64);
                if (k > n - at) k = n - at;
                if (n + k > cap) break;
                memmove(t + at + k, t + at, n - at);
                n += k;
                break;
            }
            default: /* cut the text short */
                n = at;
                break;
            }
        }
        int rc = parse_bytes(t, n);
        if (rc == 0) {
            parsed++;
            if (!consistent()) {
                bad_result++;
                if (!first_bad) first_bad = round + 1;
            }
        } else {
            refused++;
            unsigned lines = count_lines(t, n);
            if (rc != -1 || E.line < 1 || E.line > lines || E.message[0] == 0 ||
                !terminated(E.message, sizeof E.message)) {
                bad_error++;
                if (!first_bad) first_bad = round + 1;
            }
        }
    }
    free(t);
    printf("# mutations: %u parsed, %u refused\n", parsed, refused);
    ok(bad_error == 0, "every refused mutation names a line inside the file (%u did not, first round %u)", bad_error,
       first_bad);
    ok(bad_result == 0, "every accepted mutation gives a consistent scenario (%u did not)", bad_result);
    ok(parsed > 100 && refused > 100, "the mutations reach both outcomes");
}

int main(void)
{
    test_module_form();
    test_component_form();
    test_small_good();
    test_quota_forms();
    test_lines_and_bytes();
    test_forms();
    test_component_lines();
    test_reference_order();
    test_messages_cut();
    test_limits();
    test_mutations();
    return done_testing();
}
