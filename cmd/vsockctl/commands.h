/* commands.h: the vsockctl command language. One table row per command drives the
 * command line, the shell, tab completion and `help`; nothing else lists the commands.
 * No readline here: the shell (shell.c) and main.c feed words in, handlers print. */
#ifndef VSOCKCTL_COMMANDS_H
#define VSOCKCTL_COMMANDS_H

#include <stddef.h>

/* Exit statuses, documented in vsockctl(8). A larger value is the worse outcome. */
enum ctl_status {
    CTL_OK = 0,
    CTL_FAILED = 1, /* runtime failure: no transport, ioctl failed, stdout unwritable */
    CTL_USAGE = 2,  /* unknown command or option, extra arguments, bad transport spec */
};

struct ctl_context {
    const char *transport_spec; /* --transport value, or NULL: $VSOCK_TRANSPORT or auto */
    int in_shell;               /* commands come from stdin (terminal or script) */
    int quit;                   /* set by quit/exit: stop reading commands */
};

/* What completes as a command's positional argument in the shell. */
enum ctl_arg_kind {
    CTL_ARG_NONE,
    CTL_ARG_COMMAND, /* a command name (help COMMAND) */
};

struct ctl_call;

struct ctl_command {
    const char *name;
    const char *args;            /* argument synopsis for help, "" if none */
    const char *help;            /* one line, lower case, no final period */
    const char *const *options;  /* flag words it accepts ("--json"), NULL-terminated */
    int max_args;                /* positional arguments it accepts */
    enum ctl_arg_kind arg_kind;
    int shell_only;              /* quit/exit: a usage error on the command line */
    int (*run)(struct ctl_context *ctx, const struct ctl_call *call);
};

/* One parsed invocation of a command. */
struct ctl_call {
    const struct ctl_command *cmd;
    unsigned int flags; /* bit i set: cmd->options[i] was given */
    int want_help;      /* -h or --help after the command name */
    int argc;           /* positional arguments, in order */
    char **argv;
};

extern const struct ctl_command ctl_commands[];
extern const size_t ctl_command_count;

/* The row named exactly name (case-sensitive, no abbreviations), or NULL. */
const struct ctl_command *ctl_command_find(const char *name);

/* Completion generators: each call returns the next candidate that starts with prefix,
 * or NULL when there are no more. *state starts at 0 and is advanced by the call. */
const char *ctl_complete_command(const char *prefix, size_t *state);
const char *ctl_complete_argument(const struct ctl_command *cmd, const char *prefix,
                                  size_t *state);

/* Splits argv (the words after the command name) into flags and positional arguments.
 * Returns CTL_OK, or CTL_USAGE with a one-line reason in why. call->argv points into
 * argv, which must stay alive for the call. */
int ctl_parse_call(const struct ctl_command *cmd, int argc, char **argv,
                   struct ctl_call *call, char *why, size_t why_size);

/* Splits a line into blank-separated words in place ('#' starts a comment). Returns the
 * word count, or -1 if there are more than max words. */
int ctl_split_words(char *line, char **words, int max);

/* Runs one command: words[0] is its name. Errors are printed as one line on stderr.
 * Returns an exit status (enum ctl_status). */
int ctl_run(struct ctl_context *ctx, int argc, char **argv);

/* Runs one line of shell input; blank and comment lines return CTL_OK. */
int ctl_run_line(struct ctl_context *ctx, char *line);

#endif
