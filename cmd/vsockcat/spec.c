/* spec.c: the address-text parser. The type table (addrtypes.c) says how many positional
 * arguments a type takes and which options it accepts; the option table below says how
 * each option's value is parsed. Quoting follows socat: '...' and "..." group, backslash
 * escapes, [...] keeps an IPv6 literal's colons together. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addrtypes.h"
#include "cli_num.h"
#include "spec.h"

enum value_kind { VAL_FLAG, VAL_UINT, VAL_SECONDS, VAL_STRING, VAL_OCTAL, VAL_BYTES };

struct option_def {
    const char *name;
    unsigned bit;
    enum value_kind kind;
    size_t offset;        /* into struct vc_addr_opts; 0: a flag kept only in 'set' */
    const char *help;
};

#define OFF(field) offsetof(struct vc_addr_opts, field)

static const struct option_def option_defs[] = {
    {"fork", VC_OPT_FORK, VAL_FLAG, 0, "serve every connection, concurrently"},
    {"max-children", VC_OPT_MAX_CHILDREN, VAL_UINT, OFF(max_children),
     "with fork: at most N connections at once (others wait)"},
    {"bind", VC_OPT_BIND, VAL_STRING, OFF(bind), "local address to bind"},
    {"reuseaddr", VC_OPT_REUSEADDR, VAL_FLAG, OFF(reuseaddr),
     "SO_REUSEADDR (default on for TCP-LISTEN; reuseaddr=0 turns it off)"},
    {"connect-timeout", VC_OPT_CONNECT_TIMEOUT, VAL_SECONDS, OFF(connect_timeout),
     "give up connecting after SEC seconds"},
    {"backlog", VC_OPT_BACKLOG, VAL_UINT, OFF(backlog), "listen backlog"},
    {"history", VC_OPT_HISTORY, VAL_STRING, OFF(history), "READLINE history file"},
    {"prompt", VC_OPT_PROMPT, VAL_STRING, OFF(prompt), "READLINE prompt"},
    {"creat", VC_OPT_CREAT, VAL_FLAG, 0, "OPEN: create the file"},
    {"trunc", VC_OPT_TRUNC, VAL_FLAG, 0, "OPEN: truncate the file"},
    {"append", VC_OPT_APPEND, VAL_FLAG, 0, "OPEN: append to the file"},
    {"excl", VC_OPT_EXCL, VAL_FLAG, 0, "OPEN: with creat, fail if the file exists"},
    {"rdonly", VC_OPT_RDONLY, VAL_FLAG, 0, "OPEN: read only"},
    {"wronly", VC_OPT_WRONLY, VAL_FLAG, 0, "OPEN: write only"},
    {"unlink-early", VC_OPT_UNLINK_EARLY, VAL_FLAG, 0,
     "UNIX-LISTEN: remove a stale socket file first"},
    {"perm", VC_OPT_PERM, VAL_OCTAL, OFF(perm), "mode of a created file or socket (octal)"},
    {"rcvbuf", VC_OPT_RCVBUF, VAL_BYTES, OFF(rcvbuf),
     "SO_RCVBUF in bytes, k/M suffixes (fixes the size: no autotuning)"},
    {"sndbuf", VC_OPT_SNDBUF, VAL_BYTES, OFF(sndbuf),
     "SO_SNDBUF in bytes, k/M suffixes (fixes the size: no autotuning)"},
};
#define N_OPTION_DEFS (sizeof(option_defs) / sizeof(option_defs[0]))

static const struct option_def *find_option(const char *name)
{
    for (size_t i = 0; i < N_OPTION_DEFS; i++)
        if (strcasecmp(option_defs[i].name, name) == 0)
            return &option_defs[i];
    return NULL;
}

/* ---- tokenizing */

/* What unquote_step() returns besides a character. */
enum { QUOTE_MARK = -1, TRAILING_BACKSLASH = -2 };

/* One step through text[0..len) under socat's quoting: a backslash escapes the next
 * character (not inside '...'), and quotes open and close a group. Returns the character
 * text[*i] stands for (an escape moves *i on to the escaped one), QUOTE_MARK for a quote
 * that only groups, or TRAILING_BACKSLASH. *quote is the open quote, or 0. */
static int unquote_step(const char *text, size_t len, size_t *i, char *quote)
{
    char c = text[*i];

    if (c == '\\' && *quote != '\'') {
        if (*i + 1 >= len)
            return TRAILING_BACKSLASH;
        return (unsigned char)text[++*i];
    }
    if (*quote ? c == *quote : c == '\'' || c == '"') {
        *quote = *quote ? 0 : c;
        return QUOTE_MARK;
    }
    return (unsigned char)c;
}

/* Frees what a failed scan built and says why; returns NULL for the caller to return. */
static void *scan_failed(void *built, char *err, size_t errsize, const char *why, char quote)
{
    free(built);
    if (quote)
        snprintf(err, errsize, "unterminated %c quote", quote);
    else
        snprintf(err, errsize, "%s", why);
    return NULL;
}

/* Copies text[0..len) into a new string with quotes removed and escapes resolved. */
static char *unquote(const char *text, size_t len, char *err, size_t errsize)
{
    char *out = malloc(len + 1), *o = out;
    char quote = 0;

    if (!out)
        return scan_failed(NULL, err, errsize, "out of memory", 0);
    for (size_t i = 0; i < len; i++) {
        int c = unquote_step(text, len, &i, &quote);
        if (c == TRAILING_BACKSLASH)
            return scan_failed(out, err, errsize, "trailing backslash", 0);
        if (c != QUOTE_MARK)
            *o++ = (char)c;
    }
    if (quote)
        return scan_failed(out, err, errsize, NULL, quote);
    *o = '\0';
    return out;
}

/* Length of text up to the first unquoted, unbracketed, unescaped separator (or end). */
static size_t token_len(const char *text, char sep)
{
    char quote = 0;
    int depth = 0;
    size_t i;

    for (i = 0; text[i]; i++) {
        char c = text[i];
        if (c == '\\' && quote != '\'') {
            if (text[i + 1])
                i++;
        } else if (quote) {
            if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '[') {
            depth++;
        } else if (c == ']' && depth > 0) {
            depth--;
        } else if (depth == 0 && (c == sep || (sep == ':' && c == ','))) {
            break;
        }
    }
    return i;
}

char **vc_split_words(const char *text, char *err, size_t errsize)
{
    size_t len = strlen(text), nwords = 0, cap = len / 2 + 2;
    /* One block: the pointer vector, then the words. */
    char **argv = malloc(cap * sizeof(char *) + len + 1);
    char *o;
    char quote = 0;
    bool in_word = false;

    if (!argv)
        return scan_failed(NULL, err, errsize, "out of memory", 0);
    o = (char *)(argv + cap);
    for (size_t i = 0; i <= len; i++) {
        int c;

        if (text[i] == '\0' || (!quote && isspace((unsigned char)text[i]))) {
            if (quote)
                return scan_failed(argv, err, errsize, NULL, quote);
            if (in_word)
                *o++ = '\0';
            in_word = false;
            continue;
        }
        if (!in_word)
            argv[nwords++] = o;
        in_word = true;
        c = unquote_step(text, len, &i, &quote);
        if (c == TRAILING_BACKSLASH)
            return scan_failed(argv, err, errsize, "trailing backslash", 0);
        if (c != QUOTE_MARK)
            *o++ = (char)c;
    }
    argv[nwords] = NULL;
    if (nwords == 0)
        return scan_failed(argv, err, errsize, "empty command", 0);
    return argv;
}

/* ---- options */

static int apply_option(struct vc_addr_spec *spec, const char *item, char *err, size_t errsize)
{
    const char *eq = strchr(item, '=');
    char name[32];
    size_t nlen = eq ? (size_t)(eq - item) : strlen(item);
    const char *value = eq ? eq + 1 : NULL;
    const struct option_def *def;
    char *field;
    uint64_t u;

    if (nlen == 0 || nlen >= sizeof(name)) {
        snprintf(err, errsize, "bad option '%s'", item);
        return -1;
    }
    memcpy(name, item, nlen);
    name[nlen] = '\0';
    def = find_option(name);
    if (!def) {
        snprintf(err, errsize, "unknown option '%s'", name);
        return -1;
    }
    if (!(spec->type->opts & def->bit)) {
        snprintf(err, errsize, "option '%s' does not apply to %s", def->name, spec->type->name);
        return -1;
    }
    field = (char *)&spec->o + def->offset;
    switch (def->kind) {
    case VAL_FLAG:
        if (value && strcmp(value, "0") != 0 && strcmp(value, "1") != 0) {
            snprintf(err, errsize, "option '%s' takes 0 or 1, not '%s'", def->name, value);
            return -1;
        }
        if (value && strcmp(value, "0") == 0) {
            spec->o.set &= ~def->bit;
            if (def->offset)
                *(bool *)field = false;
            return 0;
        }
        if (def->offset)
            *(bool *)field = true;
        break;
    case VAL_UINT:
        if (!value || cli_parse_uint(value, 0, 1000000, 0, &u) < 0) {
            snprintf(err, errsize, "option '%s' needs a number (%s=N)", def->name, def->name);
            return -1;
        }
        if (def->bit == VC_OPT_BACKLOG)
            *(int *)field = (int)u;
        else
            *(unsigned *)field = (unsigned)u;
        break;
    case VAL_OCTAL:
        if (!value || cli_parse_uint(value, 0, 07777, CLI_NUM_OCTAL, &u) < 0) {
            snprintf(err, errsize, "option '%s' needs an octal mode (%s=0600)", def->name, def->name);
            return -1;
        }
        *(unsigned *)field = (unsigned)u;
        break;
    case VAL_BYTES:
        /* The kernel doubles what it is given, into an int (and caps it at
         * net.core.rmem_max / wmem_max). */
        if (!value || cli_parse_uint(value, 1, 512u << 20, CLI_NUM_SIZE, &u) < 0) {
            snprintf(err, errsize, "option '%s' needs a byte count in 1..512M (%s=256k)",
                     def->name, def->name);
            return -1;
        }
        *(int *)field = (int)u;
        break;
    case VAL_SECONDS:
        if (!value || cli_parse_seconds(value, 0, 1e6, (double *)(void *)field) < 0) {
            snprintf(err, errsize, "option '%s' needs seconds (%s=1.5)", def->name, def->name);
            return -1;
        }
        break;
    case VAL_STRING:
        if (!value || !*value) {
            snprintf(err, errsize, "option '%s' needs a value (%s=...)", def->name, def->name);
            return -1;
        }
        free(*(char **)(void *)field);
        *(char **)(void *)field = strdup(value);
        if (!*(char **)(void *)field) {
            snprintf(err, errsize, "out of memory");
            return -1;
        }
        break;
    }
    spec->o.set |= def->bit;
    return 0;
}

/* ---- the address */

int vc_spec_parse(const char *text, struct vc_addr_spec *spec, char *err, size_t errsize)
{
    const char *p = text;
    size_t n;
    char *word;

    memset(spec, 0, sizeof(*spec));
    spec->o.perm = 0666;
    spec->text = strdup(text);
    if (!spec->text) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }

    n = token_len(p, ':');
    word = unquote(p, n, err, errsize);
    if (!word)
        goto fail;
    spec->type = vc_addr_type_find(word);
    if (!spec->type) {
        snprintf(err, errsize, "unknown address type '%s' (see vsockcat --help)", word);
        free(word);
        goto fail;
    }
    free(word);
    p += n;
    if (spec->type->opts & VC_OPT_REUSEADDR)
        spec->o.reuseaddr = spec->type->kind == VC_KIND_LISTEN;

    for (int i = 0; i < spec->type->nargs; i++) {
        if (*p != ':') {
            snprintf(err, errsize, "%s needs %d argument%s (%s)", spec->type->name,
                     spec->type->nargs, spec->type->nargs > 1 ? "s" : "", spec->type->synopsis);
            goto fail;
        }
        p++;
        /* The last argument runs to the options: a command may contain colons. */
        n = i == spec->type->nargs - 1 ? token_len(p, ',') : token_len(p, ':');
        spec->args[i] = unquote(p, n, err, errsize);
        if (!spec->args[i])
            goto fail;
        if (!*spec->args[i]) {
            snprintf(err, errsize, "empty argument %d (%s)", i + 1, spec->type->synopsis);
            goto fail;
        }
        p += n;
    }
    if (*p == ':') {
        snprintf(err, errsize, "too many arguments (%s)", spec->type->synopsis);
        goto fail;
    }
    while (*p == ',') {
        p++;
        n = token_len(p, ',');
        word = unquote(p, n, err, errsize);
        if (!word)
            goto fail;
        if (*word && apply_option(spec, word, err, errsize) < 0) {
            free(word);
            goto fail;
        }
        free(word);
        p += n;
    }
    if (spec->type->check && spec->type->check(spec, err, errsize) < 0)
        goto fail;
    return 0;
fail:
    vc_spec_free(spec);
    return -1;
}

void vc_spec_free(struct vc_addr_spec *spec)
{
    for (int i = 0; i < VC_MAX_ARGS; i++)
        free(spec->args[i]);
    free(spec->text);
    free(spec->o.bind);
    free(spec->o.history);
    free(spec->o.prompt);
    memset(spec, 0, sizeof(*spec));
}

void vc_spec_print_help(void *stream)
{
    FILE *f = stream;

    fprintf(f, "Addresses (case-insensitive; options follow commas):\n");
    vc_addr_types_print(f);
    fprintf(f, "\nAddress options:\n");
    for (size_t i = 0; i < N_OPTION_DEFS; i++) {
        const struct option_def *d = &option_defs[i];
        const char *arg = d->kind == VAL_FLAG ? "" : d->kind == VAL_STRING ? "=VALUE"
                          : d->kind == VAL_SECONDS ? "=SEC" : d->kind == VAL_OCTAL ? "=MODE" : "=N";
        char left[40];
        snprintf(left, sizeof(left), "%s%s", d->name, arg);
        fprintf(f, "  %-22s %s\n", left, d->help);
    }
}
