/* options.c: vhost-user-vsock's options. One row per option (cmd/common/cli_opt.h)
 * drives getopt, --help and, through it, the check that vhost-user-vsock(8) documents
 * each one (test/man.bats). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "cli_diag.h"
#include "cli_num.h"
#include "cli_opt.h"
#include "log.h"
#include "options.h"
#include "virtio/wire.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static struct options opts = {
    .queue_size = 1024,
    /* A 1 MiB window keeps a guest -> host bulk transfer in flight with half the
     * wake-ups (docs/PERFORMANCE.md); bounding how many connections hold one keeps a
     * guest that opens many from making us hold 1 GiB: 64 MiB + 960 x 256 KiB at most. */
    .window = {.big = 1024 * 1024, .small = 256 * 1024, .big_conns = 64},
};

static int set_queue_size(const struct cli_option *o, const char *arg)
{
    uint64_t v;

    (void)o;
    if (cli_parse_uint(arg, 1, VIRTQ_MAX_SIZE, 0, &v) < 0 || (v & (v - 1)) != 0)
        return CLI_BAD_VALUE;
    opts.queue_size = (unsigned int)v;
    return CLI_GO_ON;
}

/* One window for every connection. */
static int set_tx_buffer_size(const struct cli_option *o, const char *arg)
{
    uint64_t v;

    (void)o;
    if (cli_parse_uint(arg, 4096, 64u << 20, 0, &v) < 0)
        return CLI_BAD_VALUE;
    opts.window = (struct vdev_window){.big = (uint32_t)v, .small = (uint32_t)v};
    return CLI_GO_ON;
}

static int show_help(const struct cli_option *o, const char *arg);

static int show_version(const struct cli_option *o, const char *arg)
{
    (void)o;
    (void)arg;
    printf("vhost-user-vsock (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
    return CLI_STOP;
}

static const struct cli_option backend_options[] = {
    {0, "--socket", "PATH", "vhost-user socket to listen on (created 0600; required)",
     .kind = CLI_STRING, .value = &opts.socket_path},
    {0, "--uds-path", "PATH", "host side: listen here for CONNECT, reach PATH_PORT (required)",
     .kind = CLI_STRING, .value = &opts.uds_path},
    {0, "--guest-cid", "N", "the guest's CID, 3..4294967294 (required)",
     .kind = CLI_UINT, .value = &opts.guest_cid, .min = 3, .max = 0xfffffffeu,
     .bad = "%s: not a CID in 3..4294967294"},
    {0, "--queue-size", "N", "largest ring size accepted, a power of two (default 1024)",
     .kind = CLI_CALL, .call = set_queue_size,
     .bad = "%s: not a power of two in 1.." STRINGIFY(VIRTQ_MAX_SIZE)},
    {0, "--tx-buffer-size", "BYTES",
     "guest data buffered per connection (default 1 MiB for 64, then 256 KiB)",
     .kind = CLI_CALL, .call = set_tx_buffer_size,
     .bad = "%s: not a byte count in 4096..67108864"},
    {0, "--busy-poll", "USEC", "after an event, poll without sleeping for USEC (default 0: off)",
     .kind = CLI_UINT, .value = &opts.busy_poll_us, .max = 1000000,
     .bad = "%s: not a number of microseconds in 0..1000000"},
    {0, "--no-event-idx", NULL, "do not offer VIRTIO_RING_F_EVENT_IDX (notify by ring flags)",
     .kind = CLI_SET_INT, .value = &opts.no_event_idx, .set_to = 1},
    {'v', "--verbose", NULL, "log every message and connection",
     .kind = CLI_SET_INT, .value = &log_verbose, .set_to = 1},
    {'h', "--help", NULL, "show this help", .kind = CLI_CALL, .call = show_help},
    {0, "--version", NULL, "show the version", .kind = CLI_CALL, .call = show_version},
};

static const struct cli_program backend_cli = {
    .name = "vhost-user-vsock",
    .options = backend_options,
    .n_options = CLI_N(backend_options),
    .unknown = "%s: unknown option (see --help)",
    .missing = "%s: needs a value",
    .long_indent = 4,
    .help_column = 32,
};

static int show_help(const struct cli_option *o, const char *arg)
{
    (void)o;
    (void)arg;
    printf("Usage: vhost-user-vsock --socket PATH --uds-path PATH --guest-cid N [options]\n\n"
           "A vhost-user virtio-vsock device backend serving one front-end.\n\nOptions:\n");
    cli_print_options(stdout, &backend_cli);
    return CLI_STOP;
}

/* A required socket path, with room for a suffix of reserve bytes. Returns 0 or a usage
 * error's exit status. */
static int check_path(const char *name, const char *path, size_t reserve)
{
    if (path == NULL)
        return cli_usage_error("%s is required (see --help)", name);
    if (path[0] == '\0')
        return cli_usage_error("%s: empty path", name);
    if (strlen(path) + reserve >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return cli_usage_error("%s: %s: too long for a Unix socket path", name, path);
    return 0;
}

/* What no single option can check. Returns 0 or a usage error's exit status. */
static int check_options(int argc, char **argv, int first)
{
    int status;

    if (first < argc)
        return cli_usage_error("%s: unexpected argument (see --help)", argv[first]);
    status = check_path("--socket", opts.socket_path, 0);
    if (status == 0)
        status = check_path("--uds-path", opts.uds_path, 11); /* room for "_4294967295" */
    if (status != 0)
        return status;
    if (strcmp(opts.socket_path, opts.uds_path) == 0)
        return cli_usage_error("--socket and --uds-path must be different paths");
    if (opts.guest_cid == 0)   /* 0 is below the minimum: never given */
        return cli_usage_error("--guest-cid is required (see --help)");
    return 0;
}

const struct options *opt_parse(int argc, char **argv, int *status)
{
    int first = cli_parse(&backend_cli, argc, argv, status);

    if (first < 0)
        return NULL;
    *status = check_options(argc, argv, first);
    return *status == 0 ? &opts : NULL;
}
