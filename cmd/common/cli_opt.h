/* cli_opt.h: a program's options as one table. The table drives getopt_long, the
 * options part of --help and, through that help, the man-page check (test/man.bats):
 * adding an option is adding a row. Values are parsed strictly (cli_num.h) and every
 * mistake is one usage-error line (cli_diag.h). */
#ifndef CLI_OPT_H
#define CLI_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What an option does; value points at the C type named here. */
enum cli_kind {
    CLI_TRUE,      /* bool: set to true */
    CLI_SET_INT,   /* int: set to set_to (-u and -U choosing a direction) */
    CLI_COUNT,     /* int: one more each time (-d -d) */
    CLI_STRING,    /* const char *: the argument itself */
    CLI_UINT,      /* unsigned: a whole number in [min, max], written as num_flags say */
    CLI_SIZE,      /* size_t: bytes in [min, max], with a k/M/G suffix or not */
    CLI_SECONDS,   /* double: seconds with fractions in [min, max] */
    CLI_CALL,      /* call() does it */
};

/* What call() returns. */
enum cli_call_result {
    CLI_GO_ON = 0,        /* done; parse the next option */
    CLI_BAD_VALUE = -1,   /* the argument is not acceptable: a usage error with row.bad */
    CLI_STOP = 1,         /* done, and so is the program, successfully (--help, --version) */
};

struct cli_option {
    char letter;          /* short name (-x), or 0 */
    /* Long name as typed: "--busy-poll", or a socat-style single-dash name such as
     * "-lf" (then every long name is also matched when abbreviated with one dash, and
     * refused), or NULL. */
    const char *name;
    /* Argument name for --help, "SEC" ("-t SEC") or "=SPEC" ("--transport=SPEC");
     * NULL: the option takes no argument. */
    const char *arg;
    /* One line for --help ('\n' continues it, aligned); NULL and no help_fn: hidden. */
    const char *help;
    /* Help composed at run time (what libvsock supports), into buf; wins over help. */
    const char *(*help_fn)(char *buf, size_t size);
    enum cli_kind kind;
    void *value;          /* where the kind stores */
    int set_to;           /* CLI_SET_INT */
    uint64_t min, max;    /* CLI_UINT, CLI_SIZE, CLI_SECONDS (whole seconds) */
    unsigned num_flags;   /* CLI_UINT: cli_num_flags */
    /* The usage error for a bad argument, after "OPTION: "; "%s" (once) stands for the
     * argument: "bad number of seconds '%s'". NULL: "bad value '%s'". */
    const char *bad;
    /* CLI_CALL: arg is NULL for an option without one. Returns enum cli_call_result. */
    int (*call)(const struct cli_option *o, const char *arg);
};

/* How a program's command line reads; one per program, static. */
struct cli_program {
    const char *name;             /* "vsockcat": every message starts "vsockcat: " */
    const char *usage_hint;       /* ends every usage error, or NULL (cli_diag_init) */
    const struct cli_option *options;
    size_t n_options;
    /* Usage errors for an unknown option and a missing argument; "%s" stands for the
     * option as typed: "unknown option '%s'", "%s: needs a value". */
    const char *unknown;
    const char *missing;
    int in_order;                 /* options end at the first operand (a command name) */
    int long_indent;              /* spaces before a long name without a letter in --help
                                   * (4 aligns it under "-x, --name") */
    int help_column;              /* where help text starts in --help lines */
};

#define CLI_N(table) (sizeof(table) / sizeof((table)[0]))

/* Names the program for cli_diag (cli_diag_init), then parses the options of argv.
 * Returns the index of the first operand, or -1 when the program ends now with
 * *exit_status: 0 after --help or --version, CLI_EXIT_USAGE after a usage error (one
 * line printed), CLI_EXIT_FAILURE when out of memory. */
int cli_parse(const struct cli_program *prog, int argc, char **argv, int *exit_status);

/* Prints the options' help lines: "  -b SIZE   help", in table order, hidden rows left
 * out. */
void cli_print_options(FILE *f, const struct cli_program *prog);

#endif
