/* options.c: vsockcat's global options. One row per option (cli_opt.h) drives getopt,
 * the Options part of --help and, through it, the check that vsockcat(1) documents
 * each one (test/man.bats). */
#include "config.h"

#include <libvsock.h>
#include <stdio.h>

#include "cli_opt.h"
#include "log.h"
#include "options.h"
#include "spec.h"

static struct vc_opts options = {
    .only_dir = -1,
    .half_close_wait = 0.5,
    .bufsize = 128 * 1024,
};
const struct vc_opts *vc_opts = &options;

static int show_help(const struct cli_option *o, const char *arg);
static int show_version(const struct cli_option *o, const char *arg);

static const struct cli_option vsockcat_options[] = {
    {'u', NULL, NULL, "one direction only: ADDRESS1 -> ADDRESS2",
     .kind = CLI_SET_INT, .value = &options.only_dir, .set_to = 0},
    {'U', NULL, NULL, "one direction only: ADDRESS2 -> ADDRESS1",
     .kind = CLI_SET_INT, .value = &options.only_dir, .set_to = 1},
    {'t', NULL, "SEC", "after EOF in one direction, end when the other is idle SEC (0.5)",
     .kind = CLI_SECONDS, .value = &options.half_close_wait, .max = 1000000,
     .bad = "bad number of seconds '%s'"},
    {'T', NULL, "SEC", "end when no data moved for SEC (default: never)",
     .kind = CLI_SECONDS, .value = &options.idle_timeout, .max = 1000000,
     .bad = "bad number of seconds '%s'"},
    {'b', NULL, "SIZE", "buffer per direction, e.g. 65536, 128k, 1M (131072)",
     .kind = CLI_SIZE, .value = &options.bufsize, .min = 1, .max = 64u * 1024 * 1024,
     .bad = "bad buffer size '%s' (1 byte to 64M)"},
    {'v', NULL, NULL, "dump relayed data as text on stderr",
     .kind = CLI_TRUE, .value = &options.dump_text},
    {'x', NULL, NULL, "dump relayed data as hex on stderr",
     .kind = CLI_TRUE, .value = &options.dump_hex},
    {'d', NULL, NULL, "diagnostics on stderr; repeat for more",
     .kind = CLI_COUNT, .value = &options.debug},
    {'l', NULL, "PORT", "shorthand: VSOCK-LISTEN:PORT STDIO",
     .kind = CLI_STRING, .value = &options.listen_port},
    {0, "--busy-poll", "USEC",
     "after data moves, poll without sleeping for USEC (lower latency for CPU; default 0: off)",
     .kind = CLI_UINT, .value = &options.busy_poll_us, .max = 1000000,
     .bad = "bad number of microseconds '%s' (0 to 1000000)"},
    {0, "--transport", "SPEC", "vsock transport (listed below; default: $VSOCK_TRANSPORT, else auto)",
     .kind = CLI_STRING, .value = &options.transport},
    {'h', "--help", NULL, "this help", .kind = CLI_CALL, .call = show_help},
    {0, "--version", NULL, "print the version", .kind = CLI_CALL, .call = show_version},
};

static const struct cli_program vsockcat_cli = {
    .name = "vsockcat",
    .usage_hint = " (see vsockcat --help)",
    .options = vsockcat_options,
    .n_options = CLI_N(vsockcat_options),
    .unknown = "unknown option '%s'",
    .missing = "option '%s' needs an argument",
    .long_indent = 4,
    .help_column = 27,
};

static int show_help(const struct cli_option *o, const char *arg)
{
    (void)o;
    (void)arg;
    printf("Usage: vsockcat [options] ADDRESS1 ADDRESS2\n"
           "       vsockcat [options] CID:PORT     (STDIO to VSOCK-CONNECT:CID:PORT)\n"
           "       vsockcat [options] -l PORT      (VSOCK-LISTEN:PORT to STDIO)\n"
           "Relays data both ways between two addresses.\n\nOptions:\n");
    cli_print_options(stdout, &vsockcat_cli);
    printf("\nTransports:");
    for (const char *const *t = vsock_transport_specs(); *t; t++)
        printf(" %s", *t);
    printf("\n\n");
    vc_spec_print_help(stdout);
    printf("\nExit status: 0 done, 1 runtime error, 2 usage error. See vsockcat(1).\n");
    return CLI_STOP;
}

static int show_version(const struct cli_option *o, const char *arg)
{
    (void)o;
    (void)arg;
    printf("vsockcat (vsock-tools) %s\n", PACKAGE_VERSION);
    return CLI_STOP;
}

int vc_options_parse(int argc, char **argv, int *status)
{
    int first = cli_parse(&vsockcat_cli, argc, argv, status);

    vc_log_level = options.debug;
    return first;
}
