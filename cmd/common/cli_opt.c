/* cli_opt.c: from a program's option table (cli_opt.h) to getopt_long's two tables, the
 * parse loop that applies each option, and the options part of --help. */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli_diag.h"
#include "cli_num.h"
#include "cli_opt.h"

/* getopt_long returns LONG_ID + i for the long name of row i, a short one's letter. */
#define LONG_ID 256

struct getopt_tables {
    char *shorts;           /* optstring */
    struct option *longs;   /* zero-terminated */
    bool one_dash;          /* a "-lf" row: parse with getopt_long_only */
};

static bool is_one_dash(const char *name)
{
    return name != NULL && name[0] == '-' && name[1] != '-';
}

static int build_tables(const struct cli_program *p, struct getopt_tables *t)
{
    size_t n = 0, l = 0;

    /* One block; freed with t->shorts. */
    t->longs = malloc((p->n_options + 1) * sizeof(*t->longs) + 2 * p->n_options + 3);
    if (t->longs == NULL)
        return -1;
    t->shorts = (char *)(t->longs + p->n_options + 1);
    t->one_dash = false;
    if (p->in_order)
        t->shorts[n++] = '+';   /* stop at the first operand */
    t->shorts[n++] = ':';       /* ':' (not '?') for a missing argument */
    for (size_t i = 0; i < p->n_options; i++) {
        const struct cli_option *o = &p->options[i];
        if (o->letter) {
            t->shorts[n++] = o->letter;
            if (o->arg)
                t->shorts[n++] = ':';
        }
        if (o->name) {
            t->longs[l++] = (struct option){o->name + (is_one_dash(o->name) ? 1 : 2),
                                            o->arg ? required_argument : no_argument, NULL,
                                            LONG_ID + (int)i};
            t->one_dash |= is_one_dash(o->name);
        }
    }
    t->shorts[n] = '\0';
    t->longs[l] = (struct option){NULL, 0, NULL, 0};
    return 0;
}

/* Writes tmpl into out with its first "%s" replaced by arg. The templates are data (the
 * option table), so they do not go through printf. */
static void fill_in(char *out, size_t size, const char *tmpl, const char *arg)
{
    const char *at = strstr(tmpl, "%s");

    if (at == NULL)
        snprintf(out, size, "%s", tmpl);
    else
        snprintf(out, size, "%.*s%s%s", (int)(at - tmpl), tmpl, arg, at + 2);
}

static int usage_error_with(const char *tmpl, const char *what)
{
    char text[512];

    fill_in(text, sizeof(text), tmpl, what);
    return cli_usage_error("%s", text);
}

/* The argv element getopt has just read a long option from. */
static const char *long_element(char **argv)
{
    return optarg != NULL && optarg == argv[optind - 1] ? argv[optind - 2] : argv[optind - 1];
}

/* With getopt_long_only, "--lf" and "-transport" match too: each name takes only the
 * dashes its row gives it. */
static bool dashes_match(const struct cli_option *o, char **argv)
{
    const char *typed = long_element(argv);

    return (typed[1] == '-') == !is_one_dash(o->name);
}

static int apply_number(const struct cli_option *o, const char *arg)
{
    uint64_t v;
    double s;

    switch (o->kind) {
    case CLI_UINT:
        if (cli_parse_uint(arg, o->min, o->max < UINT_MAX ? o->max : UINT_MAX, o->num_flags,
                           &v) < 0)
            return CLI_BAD_VALUE;
        *(unsigned *)o->value = (unsigned)v;
        return CLI_GO_ON;
    case CLI_SIZE:
        if (cli_parse_uint(arg, o->min, o->max < SIZE_MAX ? o->max : SIZE_MAX,
                           o->num_flags | CLI_NUM_SIZE, &v) < 0)
            return CLI_BAD_VALUE;
        *(size_t *)o->value = (size_t)v;
        return CLI_GO_ON;
    default: /* CLI_SECONDS */
        if (cli_parse_seconds(arg, (double)o->min, (double)o->max, &s) < 0)
            return CLI_BAD_VALUE;
        *(double *)o->value = s;
        return CLI_GO_ON;
    }
}

/* Does what row o says with arg. Returns an enum cli_call_result. */
static int apply(const struct cli_option *o, const char *arg)
{
    switch (o->kind) {
    case CLI_TRUE:
        *(bool *)o->value = true;
        return CLI_GO_ON;
    case CLI_SET_INT:
        *(int *)o->value = o->set_to;
        return CLI_GO_ON;
    case CLI_COUNT:
        ++*(int *)o->value;
        return CLI_GO_ON;
    case CLI_STRING:
        *(const char **)o->value = arg;
        return CLI_GO_ON;
    case CLI_UINT:
    case CLI_SIZE:
    case CLI_SECONDS:
        return apply_number(o, arg);
    case CLI_CALL:
        return o->call(o, arg);
    }
    return CLI_BAD_VALUE;
}

static const struct cli_option *row_of_letter(const struct cli_program *p, int c)
{
    for (size_t i = 0; i < p->n_options; i++)
        if (p->options[i].letter == c)
            return &p->options[i];
    return NULL;
}

/* getopt's complaint as our one line: an unknown short option by its letter, anything
 * else as typed. */
static int getopt_error(const struct cli_program *p, int c, char **argv)
{
    char shortname[3] = {'-', (char)optopt, '\0'};
    const char *what = optopt > 0 && optopt < LONG_ID ? shortname : argv[optind - 1];

    return usage_error_with(c == ':' ? p->missing : p->unknown, what);
}

/* Parses one option; returns an exit status, or -1 to go on. */
static int parse_one(const struct cli_program *p, const struct getopt_tables *t, int c,
                     char **argv)
{
    const struct cli_option *o;
    char spelled[3] = {'-', (char)c, '\0'};
    int rc;

    if (c == '?' || c == ':')
        return getopt_error(p, c, argv);
    o = c >= LONG_ID ? &p->options[c - LONG_ID] : row_of_letter(p, c);
    if (c >= LONG_ID && t->one_dash && !dashes_match(o, argv))
        return usage_error_with(p->unknown, long_element(argv));
    rc = apply(o, optarg);
    if (rc == CLI_STOP)
        return CLI_EXIT_OK;
    if (rc == CLI_BAD_VALUE) {
        char text[512];

        fill_in(text, sizeof(text), o->bad ? o->bad : "bad value '%s'", optarg ? optarg : "");
        return cli_usage_error("%s: %s", c >= LONG_ID ? o->name : spelled, text);
    }
    return -1;
}

int cli_parse(const struct cli_program *p, int argc, char **argv, int *exit_status)
{
    struct getopt_tables t;
    int c, status = -1;

    cli_diag_init(p->name, p->usage_hint);
    if (build_tables(p, &t) < 0) {
        cli_error("out of memory");
        *exit_status = CLI_EXIT_FAILURE;
        return -1;
    }
    opterr = 0;   /* errors are ours, in one line */
    optind = 0;   /* a fresh scan, even if something parsed before */
    while (status < 0) {
        c = t.one_dash ? getopt_long_only(argc, argv, t.shorts, t.longs, NULL)
                       : getopt_long(argc, argv, t.shorts, t.longs, NULL);
        if (c == -1)
            break;
        status = parse_one(p, &t, c, argv);
    }
    free(t.longs);
    *exit_status = status;
    return status < 0 ? optind : -1;
}

/* "-b SIZE", "-h, --help", "    --busy-poll USEC", "--transport=SPEC". */
static void option_flags(char *out, size_t size, const struct cli_program *p,
                         const struct cli_option *o)
{
    int n;

    if (o->letter && o->name)
        n = snprintf(out, size, "-%c, %s", o->letter, o->name);
    else if (o->letter)
        n = snprintf(out, size, "-%c", o->letter);
    else
        n = snprintf(out, size, "%*s%s", is_one_dash(o->name) ? 0 : p->long_indent, "",
                     o->name);
    if (o->arg && n >= 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, "%s%s", o->arg[0] == '=' ? "" : " ", o->arg);
}

void cli_print_options(FILE *f, const struct cli_program *p)
{
    for (size_t i = 0; i < p->n_options; i++) {
        const struct cli_option *o = &p->options[i];
        char flags[64], buf[512];
        const char *help = o->help_fn ? o->help_fn(buf, sizeof(buf)) : o->help;
        int pad;

        if (help == NULL)
            continue;
        option_flags(flags, sizeof(flags), p, o);
        pad = p->help_column - 2 - (int)strlen(flags);
        fprintf(f, "  %s%*s", flags, pad < 2 ? 2 : pad, "");
        for (const char *nl; (nl = strchr(help, '\n')) != NULL; help = nl + 1)
            fprintf(f, "%.*s\n%*s", (int)(nl - help), help, p->help_column, "");
        fprintf(f, "%s\n", help);
    }
}
