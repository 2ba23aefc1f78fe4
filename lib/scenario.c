/*
 * The scenario parser (format: docs/scenarios.md; interface and limits:
 * drops/scenario.h). The same file is compiled into libdrops.a for the root
 * task and into the host tool tools/scenario-check, so it stays
 * freestanding: no allocation, no mutable globals, only the string
 * functions of drops/string.h.
 *
 * Two steps. First every line is read in order and checked on its own
 * (bytes, length, keyword, word count, names, numbers, limits); the first
 * bad line ends the parse. Then the references, which may point forward in
 * the file, are resolved in file order: routes to their provider, `reads` to
 * their file. Last, the boot modules the scenario needs are counted against
 * what the kernel takes.
 *
 * Words are slices of the caller's text; they are copied into *out only
 * after their length has been checked against the field they go to.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/kip.h"
#include "drops/scenario.h"
#include "drops/string.h"

_Static_assert(SCN_MODULES_MAX <= ABI_KIP_MODULE_MAX, "every module line must fit the kernel's module list");

/* `component <name> <program>` and SCN_ARGS_MAX arguments: a line with more
 * words has too many arguments whatever its keyword, so words beyond this
 * are counted but not kept. */
#define WORDS_MAX (SCN_ARGS_MAX + 3)
/* Words quoted in messages are cut to this many characters. */
#define QUOTE_MAX 40
#define ENV_MAX_BYTES (sizeof ((struct scn_component *)0)->env[0])

struct word {
    const char *p;
    size_t n;
};

struct line {
    unsigned number; /* 1-based */
    unsigned nwords; /* every word of the line, also those not kept in w[] */
    struct word w[WORDS_MAX];
};

struct parser {
    struct scenario *s;
    struct scn_error *err;
    int cur;                  /* the component the following lines belong to, or -1 */
    unsigned quota_line;      /* where the current component's quota was given, 0: not yet */
    unsigned priority_line;   /* the same for its priority */
};

static const char *const root_services[] = {SCN_ROOT_SERVICES};

/* ---- error messages: built piece by piece, cut at the buffer's end ---- */

static void put_n(struct scn_error *e, const char *s, size_t n)
{
    size_t len = strlen(e->message), room = sizeof e->message - 1 - len;
    if (n > room) n = room;
    memcpy(e->message + len, s, n);
    e->message[len + n] = 0;
}

static void put(struct scn_error *e, const char *s)
{
    put_n(e, s, strlen(s));
}

/* A word as written, in quotes, cut with "..." when long. */
static void put_quoted(struct scn_error *e, const char *s, size_t n)
{
    put(e, "'");
    if (n > QUOTE_MAX) {
        put_n(e, s, QUOTE_MAX - 3);
        put(e, "...");
    } else {
        put_n(e, s, n);
    }
    put(e, "'");
}

static void put_word(struct scn_error *e, struct word w)
{
    put_quoted(e, w.p, w.n);
}

static void put_name(struct scn_error *e, const char *name)
{
    put_quoted(e, name, strlen(name));
}

static void put_uint(struct scn_error *e, uint64_t v)
{
    char buf[21];
    unsigned i = sizeof buf - 1;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(e, buf + i);
}

static void put_hex_byte(struct scn_error *e, unsigned char c)
{
    static const char digits[] = "0123456789abcdef";
    char buf[5] = {'0', 'x', digits[c >> 4], digits[c & 15], 0};
    put(e, buf);
}

/* Start the error of `line` with `text`; always -1, for `return error(...)`. */
static int error(struct parser *p, unsigned line, const char *text)
{
    p->err->line = line;
    p->err->message[0] = 0;
    put(p->err, text);
    return -1;
}

/* The common shape: <before>'<word>'<after>. */
static int error_word(struct parser *p, unsigned line, const char *before, struct word w, const char *after)
{
    error(p, line, before);
    put_word(p->err, w);
    put(p->err, after);
    return -1;
}

/* ---- words and names ---- */

static bool word_is(struct word w, const char *s)
{
    return w.n == strlen(s) && memcmp(w.p, s, w.n) == 0;
}

/* Copy a word whose length was checked to fit `dst` with its NUL. */
static void copy_word(char *dst, struct word w)
{
    memcpy(dst, w.p, w.n);
    dst[w.n] = 0;
}

static bool name_char(char c, bool program)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           (program && (c == '.' || c == '+'));
}

/* Check word i of the line as a name (component, service, file) or, with
 * `program`, as a program name; `what` names it in the message. */
static int check_name(struct parser *p, const struct line *l, unsigned i, const char *what, bool program)
{
    struct word w = l->w[i];
    if (w.n >= SCN_NAME_MAX) {
        error(p, l->number, "");
        put_n(p->err, l->w[0].p, l->w[0].n);
        put(p->err, ": ");
        put(p->err, what);
        put(p->err, " ");
        put_word(p->err, w);
        put(p->err, " is longer than ");
        put_uint(p->err, SCN_NAME_MAX - 1);
        put(p->err, " characters");
        return -1;
    }
    for (size_t k = 0; k < w.n; k++) {
        if (!name_char(w.p[k], program)) {
            error(p, l->number, "");
            put_n(p->err, l->w[0].p, l->w[0].n);
            put(p->err, ": bad ");
            put(p->err, what);
            put(p->err, " ");
            put_word(p->err, w);
            put(p->err, program ? " (a-z 0-9 _ - . + only)" : " (a-z 0-9 _ - only)");
            return -1;
        }
    }
    return 0;
}

/* The program and its arguments, words first.. of the line, into *a. */
static int build_argv(struct parser *p, const struct line *l, unsigned first, struct scn_argv *a)
{
    const char *kw = l->w[0].p;
    size_t kwn = l->w[0].n;
    if (l->nwords - first - 1 > SCN_ARGS_MAX) {
        error(p, l->number, "");
        put_n(p->err, kw, kwn);
        put(p->err, ": too many arguments (at most ");
        put_uint(p->err, SCN_ARGS_MAX);
        put(p->err, ")");
        return -1;
    }
    size_t bytes = 0;
    for (unsigned i = first; i < l->nwords; i++) bytes += l->w[i].n + 1;
    if (bytes > SCN_TEXT_MAX) {
        error(p, l->number, "");
        put_n(p->err, kw, kwn);
        put(p->err, ": arguments too long (at most ");
        put_uint(p->err, SCN_TEXT_MAX);
        put(p->err, " bytes with the program name)");
        return -1;
    }
    size_t at = 0;
    a->argc = 0;
    for (unsigned i = first; i < l->nwords; i++) {
        copy_word(a->text + at, l->w[i]);
        a->argv[a->argc++] = a->text + at;
        at += l->w[i].n + 1;
    }
    return 0;
}

static int find_component(const struct scenario *s, const char *name)
{
    for (unsigned i = 0; i < s->ncomponents; i++)
        if (strcmp(s->components[i].name, name) == 0) return (int)i;
    return -1;
}

static int find_file(const struct scenario *s, const char *name)
{
    for (unsigned i = 0; i < s->nfiles; i++)
        if (strcmp(s->files[i].name, name) == 0) return (int)i;
    return -1;
}

static bool is_root_service(const char *name)
{
    for (size_t i = 0; i < sizeof root_services / sizeof root_services[0]; i++)
        if (strcmp(root_services[i], name) == 0) return true;
    return false;
}

static bool component_provides(const struct scn_component *c, const char *service)
{
    for (unsigned i = 0; i < c->nprovides; i++)
        if (strcmp(c->provides[i], service) == 0) return true;
    return false;
}

/* "<keyword>: too many <what> (at most <max> per component)" */
static int error_too_many(struct parser *p, const struct line *l, const char *what, unsigned max, bool per_component)
{
    error(p, l->number, "");
    put_n(p->err, l->w[0].p, l->w[0].n);
    put(p->err, ": too many ");
    put(p->err, what);
    put(p->err, " (at most ");
    put_uint(p->err, max);
    put(p->err, per_component ? " per component)" : ")");
    return -1;
}

/* "<what> '<name>' declared twice (first at line <first>)" */
static int error_twice(struct parser *p, unsigned line, const char *what, const char *name, unsigned first)
{
    error(p, line, what);
    put(p->err, " ");
    put_name(p->err, name);
    put(p->err, " declared twice (first at line ");
    put_uint(p->err, first);
    put(p->err, ")");
    return -1;
}

/* "<keyword>: '<word>' <what> twice for component '<name>'" */
static int error_again(struct parser *p, const struct line *l, struct word w, const char *what)
{
    error(p, l->number, "");
    put_n(p->err, l->w[0].p, l->w[0].n);
    put(p->err, ": ");
    put_word(p->err, w);
    put(p->err, what);
    put(p->err, " twice for component ");
    put_name(p->err, p->s->components[p->cur].name);
    return -1;
}

/* ---- one handler per keyword ---- */

static int parse_module(struct parser *p, const struct line *l)
{
    struct scenario *s = p->s;
    if (s->form == SCN_FORM_COMPONENTS) return error(p, l->number, "cannot mix 'module' and 'component' lines");
    if (s->nfiles)
        return error(p, l->number, "cannot mix 'module' and 'file' lines (files belong to the component form)");
    if (l->nwords < 2) return error(p, l->number, "module: missing program name");
    if (check_name(p, l, 1, "program name", true) < 0) return -1;
    if (s->nmodules == SCN_MODULES_MAX) {
        error(p, l->number, "module: too many modules (the kernel takes at most ");
        put_uint(p->err, SCN_MODULES_MAX);
        put(p->err, ")");
        return -1;
    }
    struct scn_module *m = &s->modules[s->nmodules];
    if (build_argv(p, l, 1, &m->args) < 0) return -1;
    copy_word(m->program, l->w[1]);
    m->line = l->number;
    s->nmodules++;
    s->form = SCN_FORM_MODULES;
    return 0;
}

static int parse_component(struct parser *p, const struct line *l)
{
    struct scenario *s = p->s;
    if (s->form == SCN_FORM_MODULES) return error(p, l->number, "cannot mix 'module' and 'component' lines");
    if (l->nwords < 3) return error(p, l->number, "component: expected a name and a program");
    if (check_name(p, l, 1, "component name", false) < 0 || check_name(p, l, 2, "program name", true) < 0)
        return -1;
    char name[SCN_NAME_MAX];
    copy_word(name, l->w[1]);
    int first = find_component(s, name);
    if (first >= 0) return error_twice(p, l->number, "component", name, s->components[first].line);
    if (s->ncomponents == SCN_COMPONENTS_MAX) return error_too_many(p, l, "components", SCN_COMPONENTS_MAX, false);
    struct scn_component *c = &s->components[s->ncomponents];
    if (build_argv(p, l, 2, &c->args) < 0) return -1;
    memcpy(c->name, name, sizeof name);
    copy_word(c->program, l->w[2]);
    c->quota = SCN_DEFAULT_QUOTA;
    c->priority = SCN_DEFAULT_PRIORITY;
    c->line = l->number;
    p->cur = (int)s->ncomponents++;
    p->quota_line = p->priority_line = 0;
    s->form = SCN_FORM_COMPONENTS;
    return 0;
}

/* A path relative to the repository, without a ".." step: what a scenario
 * names stays inside the tree it was checked in. */
static bool path_has_dotdot(struct word w)
{
    for (size_t i = 0; i + 1 < w.n; i++)
        if ((i == 0 || w.p[i - 1] == '/') && w.p[i] == '.' && w.p[i + 1] == '.' && (i + 2 == w.n || w.p[i + 2] == '/'))
            return true;
    return false;
}

static int parse_file(struct parser *p, const struct line *l)
{
    struct scenario *s = p->s;
    if (s->form == SCN_FORM_MODULES)
        return error(p, l->number, "cannot mix 'module' and 'file' lines (files belong to the component form)");
    if (l->nwords != 3) return error(p, l->number, "file: expected a name and a path");
    if (check_name(p, l, 1, "file name", false) < 0) return -1;
    struct word path = l->w[2];
    if (path.n >= SCN_PATH_MAX) {
        error_word(p, l->number, "file: path ", path, " is longer than ");
        put_uint(p->err, SCN_PATH_MAX - 1);
        put(p->err, " bytes");
        return -1;
    }
    if (path.p[0] == '/')
        return error_word(p, l->number, "file: path ", path, " is absolute (paths are relative to the repository)");
    if (path_has_dotdot(path))
        return error_word(p, l->number, "file: path ", path, " has a '..' step (paths stay inside the repository)");
    char name[SCN_NAME_MAX];
    copy_word(name, l->w[1]);
    int first = find_file(s, name);
    if (first >= 0) return error_twice(p, l->number, "file", name, s->files[first].line);
    if (s->nfiles == SCN_FILES_MAX) return error_too_many(p, l, "files", SCN_FILES_MAX, false);
    struct scn_file *f = &s->files[s->nfiles++];
    memcpy(f->name, name, sizeof name);
    copy_word(f->path, path);
    f->line = l->number;
    return 0;
}

/* Decimal digits with an optional K, M or G (powers of 1024). */
static int parse_quota(struct parser *p, const struct line *l)
{
    struct scn_component *c = &p->s->components[p->cur];
    if (l->nwords != 2) return error(p, l->number, "quota: expected one size, such as 16M");
    if (p->quota_line) {
        error(p, l->number, "quota: given twice for component ");
        put_name(p->err, c->name);
        put(p->err, " (first at line ");
        put_uint(p->err, p->quota_line);
        put(p->err, ")");
        return -1;
    }
    struct word w = l->w[1];
    size_t digits = 0;
    uint64_t v = 0;
    bool overflow = false;
    while (digits < w.n && w.p[digits] >= '0' && w.p[digits] <= '9') {
        unsigned d = (unsigned)(w.p[digits] - '0');
        if (v > (UINT64_MAX - d) / 10) overflow = true;
        else v = v * 10 + d;
        digits++;
    }
    unsigned shift = 0;
    if (digits + 1 == w.n) {
        char unit = w.p[digits];
        shift = unit == 'K' ? 10 : unit == 'M' ? 20 : unit == 'G' ? 30 : 0;
    }
    if (digits == 0 || (digits != w.n && shift == 0))
        return error_word(p, l->number, "quota: ", w, " is not a size (digits with K, M or G)");
    if (overflow || v > SCN_QUOTA_MAX >> shift) {
        error_word(p, l->number, "quota: ", w, " is more than the limit of ");
        put_uint(p->err, SCN_QUOTA_MAX >> 30);
        put(p->err, "G");
        return -1;
    }
    if (v == 0) return error_word(p, l->number, "quota: ", w, " is zero");
    c->quota = v << shift;
    p->quota_line = l->number;
    return 0;
}

static int parse_priority(struct parser *p, const struct line *l)
{
    struct scn_component *c = &p->s->components[p->cur];
    if (l->nwords != 2) return error(p, l->number, "priority: expected one number from 0 to 255");
    if (p->priority_line) {
        error(p, l->number, "priority: given twice for component ");
        put_name(p->err, c->name);
        put(p->err, " (first at line ");
        put_uint(p->err, p->priority_line);
        put(p->err, ")");
        return -1;
    }
    struct word w = l->w[1];
    unsigned v = 0;
    for (size_t i = 0; i < w.n; i++) {
        if (w.p[i] < '0' || w.p[i] > '9')
            return error_word(p, l->number, "priority: ", w, " is not a number (0 to 255)");
        v = v * 10 + (unsigned)(w.p[i] - '0');
        if (v > 1000) v = 1000; /* saturate: only "above 255" matters */
    }
    if (v > 255) {
        error(p, l->number, "priority: ");
        put_n(p->err, w.p, w.n > QUOTE_MAX ? QUOTE_MAX : w.n);
        put(p->err, " is above 255");
        return -1;
    }
    c->priority = v;
    p->priority_line = l->number;
    return 0;
}

static int parse_provides(struct parser *p, const struct line *l)
{
    struct scn_component *c = &p->s->components[p->cur];
    if (l->nwords != 2) return error(p, l->number, "provides: expected one service name");
    if (check_name(p, l, 1, "service name", false) < 0) return -1;
    char service[SCN_NAME_MAX];
    copy_word(service, l->w[1]);
    if (component_provides(c, service)) return error_again(p, l, l->w[1], " provided");
    if (c->nprovides == SCN_PROVIDES_MAX) return error_too_many(p, l, "services", SCN_PROVIDES_MAX, true);
    memcpy(c->provides[c->nprovides++], service, sizeof service);
    return 0;
}

static int parse_uses(struct parser *p, const struct line *l)
{
    struct scn_component *c = &p->s->components[p->cur];
    bool from = l->nwords == 4 && word_is(l->w[2], "from");
    if (l->nwords != 2 && !from)
        return error(p, l->number, "uses: expected '<service>' or '<service> from <component>'");
    if (check_name(p, l, 1, "service name", false) < 0) return -1;
    if (from && check_name(p, l, 3, "component name", false) < 0) return -1;
    char service[SCN_NAME_MAX];
    copy_word(service, l->w[1]);
    for (unsigned i = 0; i < c->nuses; i++) {
        if (strcmp(c->uses[i].service, service) == 0) {
            error_word(p, l->number, "uses: ", l->w[1], " used twice by component ");
            put_name(p->err, c->name);
            put(p->err, " (first at line ");
            put_uint(p->err, c->uses[i].line);
            put(p->err, ")");
            return -1;
        }
    }
    if (from && word_is(l->w[3], c->name)) {
        error(p, l->number, "uses: component ");
        put_name(p->err, c->name);
        put(p->err, " cannot use its own service ");
        put_word(p->err, l->w[1]);
        return -1;
    }
    if (c->nuses == SCN_USES_MAX) return error_too_many(p, l, "routes", SCN_USES_MAX, true);
    struct scn_use *u = &c->uses[c->nuses++];
    memcpy(u->service, service, sizeof service);
    if (from) copy_word(u->from, l->w[3]);
    u->provider = SCN_PROVIDER_ROOT; /* resolved after the last line */
    u->line = l->number;
    return 0;
}

static bool env_key_char(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
}

static int parse_env(struct parser *p, const struct line *l)
{
    struct scn_component *c = &p->s->components[p->cur];
    if (l->nwords != 2) return error(p, l->number, "env: expected KEY=value");
    struct word w = l->w[1];
    size_t key = 0;
    while (key < w.n && w.p[key] != '=') key++;
    if (key == 0 || key == w.n) return error(p, l->number, "env: expected KEY=value");
    for (size_t i = 0; i < key; i++) {
        if (!env_key_char(w.p[i], i == 0)) {
            struct word k = {w.p, key};
            return error_word(p, l->number, "env: bad variable name ", k,
                              " (letters, digits and _, not starting with a digit)");
        }
    }
    if (w.n >= ENV_MAX_BYTES) {
        error_word(p, l->number, "env: ", w, " is longer than ");
        put_uint(p->err, ENV_MAX_BYTES - 1);
        put(p->err, " bytes");
        return -1;
    }
    for (unsigned i = 0; i < c->nenv; i++) {
        if (memcmp(c->env[i], w.p, key + 1) == 0) {
            struct word k = {w.p, key};
            return error_again(p, l, k, " set");
        }
    }
    if (c->nenv == SCN_ENV_MAX) return error_too_many(p, l, "variables", SCN_ENV_MAX, true);
    copy_word(c->env[c->nenv++], w);
    return 0;
}

static int parse_reads(struct parser *p, const struct line *l)
{
    struct scn_component *c = &p->s->components[p->cur];
    if (l->nwords != 2) return error(p, l->number, "reads: expected one file name");
    if (check_name(p, l, 1, "file name", false) < 0) return -1;
    for (unsigned i = 0; i < c->nfiles; i++)
        if (word_is(l->w[1], c->reads[i].file)) return error_again(p, l, l->w[1], " read");
    if (c->nfiles == SCN_FILE_USES_MAX) return error_too_many(p, l, "files", SCN_FILE_USES_MAX, true);
    struct scn_read *r = &c->reads[c->nfiles];
    copy_word(r->file, l->w[1]);
    r->line = l->number;
    c->files[c->nfiles++] = -1; /* resolved after the last line */
    return 0;
}

static int parse_expect(struct parser *p, const struct line *l)
{
    struct scn_component *c = &p->s->components[p->cur];
    if (l->nwords != 2) return error(p, l->number, "expect: expected 'expect fault'");
    if (!word_is(l->w[1], "fault"))
        return error_word(p, l->number, "expect: unknown expectation ", l->w[1], " (only 'fault')");
    if (c->expect_fault) {
        error(p, l->number, "expect: given twice for component ");
        put_name(p->err, c->name);
        return -1;
    }
    c->expect_fault = 1;
    return 0;
}

static const struct keyword {
    const char *name;
    bool in_component; /* a line about the component above it */
    int (*parse)(struct parser *p, const struct line *l);
} keywords[] = {
    {"module", false, parse_module},     {"component", false, parse_component}, {"file", false, parse_file},
    {"quota", true, parse_quota},        {"priority", true, parse_priority},    {"provides", true, parse_provides},
    {"uses", true, parse_uses},          {"env", true, parse_env},              {"reads", true, parse_reads},
    {"expect", true, parse_expect},
};

static int parse_words(struct parser *p, const struct line *l)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
        const struct keyword *k = &keywords[i];
        if (!word_is(l->w[0], k->name)) continue;
        if (k->in_component && p->cur < 0) {
            error(p, l->number, "'");
            put(p->err, k->name);
            put(p->err, "' outside a component");
            return -1;
        }
        return k->parse(p, l);
    }
    return error_word(p, l->number, "unknown keyword ", l->w[0], "");
}

/* Check the bytes of one line (without its LF) and split it into words. */
static int read_line(struct parser *p, const char *s, size_t n, struct line *l)
{
    if (n && s[n - 1] == '\r') n--; /* CR LF, or a CR ending the file */
    if (n > SCN_LINE_MAX) {
        error(p, l->number, "line too long (more than ");
        put_uint(p->err, SCN_LINE_MAX);
        put(p->err, " bytes)");
        return -1;
    }
    size_t end = n; /* where the comment starts */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '#' && end == n) end = i;
        if (c == 0) return error(p, l->number, "NUL byte (a scenario is text)");
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            error(p, l->number, "non-printable byte ");
            put_hex_byte(p->err, c);
            return -1;
        }
        /* UTF-8 text is fine in comments; words are ASCII. */
        if (c >= 0x80 && end == n) {
            error(p, l->number, "non-ASCII byte ");
            put_hex_byte(p->err, c);
            put(p->err, " outside a comment");
            return -1;
        }
    }
    l->nwords = 0;
    size_t i = 0;
    for (;;) {
        while (i < end && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i == end) break;
        size_t start = i;
        while (i < end && s[i] != ' ' && s[i] != '\t') i++;
        if (l->nwords < WORDS_MAX) l->w[l->nwords] = (struct word){s + start, i - start};
        l->nwords++;
    }
    return 0;
}

/* ---- after the last line ---- */

static int resolve_use(struct parser *p, struct scn_use *u)
{
    if (!u->from[0]) {
        if (is_root_service(u->service)) return 0;
        error(p, u->line, "uses: ");
        put_name(p->err, u->service);
        put(p->err, " is not a root service (");
        for (size_t i = 0; i < sizeof root_services / sizeof root_services[0]; i++) {
            put(p->err, i ? ", " : "");
            put(p->err, root_services[i]);
        }
        put(p->err, "): name its provider with 'from'");
        return -1;
    }
    int k = find_component(p->s, u->from);
    if (k < 0) {
        error(p, u->line, "uses: no component ");
        put_name(p->err, u->from);
        return -1;
    }
    if (!component_provides(&p->s->components[k], u->service)) {
        error(p, u->line, "uses: component ");
        put_name(p->err, u->from);
        put(p->err, " does not provide ");
        put_name(p->err, u->service);
        return -1;
    }
    u->provider = k;
    return 0;
}

static int resolve_read(struct parser *p, struct scn_component *c, unsigned i)
{
    int k = find_file(p->s, c->reads[i].file);
    if (k < 0) {
        error(p, c->reads[i].line, "reads: no file ");
        put_name(p->err, c->reads[i].file);
        put(p->err, " declared");
        return -1;
    }
    c->files[i] = k;
    return 0;
}

/* References in file order: a component's lines all lie between its own
 * line and the next component's, so component by component, merging its
 * routes and reads by line, is file order. */
static int resolve(struct parser *p)
{
    for (unsigned ci = 0; ci < p->s->ncomponents; ci++) {
        struct scn_component *c = &p->s->components[ci];
        unsigned u = 0, r = 0;
        while (u < c->nuses || r < c->nfiles) {
            if (r == c->nfiles || (u < c->nuses && c->uses[u].line < c->reads[r].line)) {
                if (resolve_use(p, &c->uses[u++]) < 0) return -1;
            } else {
                if (resolve_read(p, c, r++) < 0) return -1;
            }
        }
    }
    return 0;
}

/* Root, scenario, programs and files must fit the kernel's module list;
 * the error names the line of the first module that does not. */
static int check_module_count(struct parser *p)
{
    const struct scenario *s = p->s;
    const char *programs[SCN_COMPONENTS_MAX];
    unsigned nprograms = scenario_programs(s, programs);
    unsigned total = 2 + nprograms + s->nfiles;
    if (total <= ABI_KIP_MODULE_MAX) return 0;
    /* Index of the first module that does not fit, counted after root and scenario. */
    unsigned over = ABI_KIP_MODULE_MAX - 2, line = 0;
    if (over < nprograms) {
        for (unsigned i = 0; i < s->ncomponents && !line; i++)
            if (s->components[i].program == programs[over]) line = s->components[i].line;
    } else {
        line = s->files[over - nprograms].line;
    }
    error(p, line, "too many boot modules: root, scenario, ");
    put_uint(p->err, nprograms);
    put(p->err, " programs and ");
    put_uint(p->err, s->nfiles);
    put(p->err, " files make ");
    put_uint(p->err, total);
    put(p->err, ", the kernel takes at most ");
    put_uint(p->err, ABI_KIP_MODULE_MAX);
    return -1;
}

int scenario_parse(const char *text, size_t len, struct scenario *out, struct scn_error *err)
{
    struct parser p = {.s = out, .err = err, .cur = -1};
    struct line l;
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    size_t pos = 0;
    unsigned number = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        l.number = ++number;
        if (read_line(&p, text + pos, end - pos, &l) < 0) return -1;
        if (l.nwords && parse_words(&p, &l) < 0) return -1;
        pos = end + 1;
    }
    if (out->form == SCN_FORM_NONE) return error(&p, number ? number : 1, "no component in scenario");
    if (out->form == SCN_FORM_MODULES) return 0;
    if (resolve(&p) < 0 || check_module_count(&p) < 0) return -1;
    return 0;
}

int scenario_find(const struct scenario *s, const char *name)
{
    return find_component(s, name);
}

int scenario_find_file(const struct scenario *s, const char *name)
{
    return find_file(s, name);
}

unsigned scenario_programs(const struct scenario *s, const char *programs[SCN_COMPONENTS_MAX])
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->ncomponents; i++) {
        const char *prog = s->components[i].program;
        unsigned k = 0;
        while (k < n && strcmp(programs[k], prog) != 0) k++;
        if (k == n) programs[n++] = prog;
    }
    return n;
}
