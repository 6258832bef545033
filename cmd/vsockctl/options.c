/* options.c: vsockctl's global options. One row per option (cli_opt.h) drives getopt,
 * the Options part of `help` and, through it, the check that vsockctl(8) documents each
 * one (test/man.bats). */
#include "config.h"

#include <libvsock.h>
#include <string.h>

#include "cli_opt.h"
#include "options.h"

static const char *transport_spec;
static const char *implied_command;   /* --help and --version stand for a command */

static int imply_command(const struct cli_option *o, const char *arg)
{
    (void)arg;
    implied_command = o->value;
    return CLI_GO_ON;
}

/* The transports are libvsock's to list. */
static const char *transport_help(char *buf, size_t size)
{
    const char *const *specs = vsock_transport_specs();
    size_t n = (size_t)snprintf(buf, size, "the transport to use:");

    for (size_t i = 0; specs[i] != NULL && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s %s", i > 0 ? "," : "", specs[i]);
    if (n < size)
        snprintf(buf + n, size - n, "\n(default: $VSOCK_TRANSPORT, else auto)");
    return buf;
}

static const struct cli_option vsockctl_options[] = {
    {0, "--transport", "=SPEC", NULL, .help_fn = transport_help,
     .kind = CLI_STRING, .value = &transport_spec},
    {'h', "--help", NULL, "print this help (help COMMAND: one command)",
     .kind = CLI_CALL, .call = imply_command, .value = "help"},
    {0, "--version", NULL, "print the version",
     .kind = CLI_CALL, .call = imply_command, .value = "version"},
};

static const struct cli_program vsockctl_cli = {
    .name = "vsockctl",
    .options = vsockctl_options,
    .n_options = CLI_N(vsockctl_options),
    .unknown = "%s: unknown option (try 'vsockctl help')",
    .missing = "%s: needs a value",
    .in_order = 1,   /* options end at the command name: its options are its own */
    .help_column = 20,
};

int ctl_parse_options(struct ctl_context *ctx, int argc, char **argv, int *status)
{
    int first = cli_parse(&vsockctl_cli, argc, argv, status);

    if (first < 0)
        return -1;
    ctx->transport_spec = transport_spec;
    if (implied_command != NULL) {
        /* argv[first - 1] was an option and is free to hold the command name. */
        argv[--first] = (char *)implied_command;
    }
    return first;
}

void ctl_print_options(FILE *f)
{
    cli_print_options(f, &vsockctl_cli);
}
