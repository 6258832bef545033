/* main.c: vsockcat's command line: global options (one table drives getopt and --help),
 * the shorthands, the vsock transport, then the session. See vsockcat(1). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libvsock.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "end.h"
#include "log.h"
#include "session.h"
#include "spec.h"

#define DEFAULT_BUFSIZE (128 * 1024)
#define MAX_BUFSIZE (64u * 1024 * 1024)

#define MAX_BUSY_POLL_US 1000000u

enum { OPT_TRANSPORT = 256, OPT_BUSY_POLL, OPT_VERSION };

struct cli_option {
    int key;             /* short letter or OPT_* */
    const char *name;    /* long name or NULL */
    const char *arg;     /* argument name or NULL */
    const char *help;
};

static const struct cli_option cli_options[] = {
    {'u', NULL, NULL, "one direction only: ADDRESS1 -> ADDRESS2"},
    {'U', NULL, NULL, "one direction only: ADDRESS2 -> ADDRESS1"},
    {'t', NULL, "SEC", "after EOF in one direction, end when the other is idle SEC (0.5)"},
    {'T', NULL, "SEC", "end when no data moved for SEC (default: never)"},
    {'b', NULL, "SIZE", "buffer per direction, e.g. 65536, 128k, 1M (131072)"},
    {'v', NULL, NULL, "dump relayed data as text on stderr"},
    {'x', NULL, NULL, "dump relayed data as hex on stderr"},
    {'d', NULL, NULL, "diagnostics on stderr; repeat for more"},
    {'l', NULL, "PORT", "shorthand: VSOCK-LISTEN:PORT STDIO"},
    {OPT_BUSY_POLL, "busy-poll", "USEC", "after data moves, poll without sleeping for USEC "
                                         "(lower latency for CPU; default 0: off)"},
    {OPT_TRANSPORT, "transport", "SPEC", "vsock transport (listed below; default: "
                                         "$VSOCK_TRANSPORT, else auto)"},
    {'h', "help", NULL, "this help"},
    {OPT_VERSION, "version", NULL, "print the version"},
};
#define N_CLI_OPTIONS (sizeof(cli_options) / sizeof(cli_options[0]))

static struct vc_opts options = {
    .only_dir = -1,
    .half_close_wait = 0.5,
    .bufsize = DEFAULT_BUFSIZE,
};
const struct vc_opts *vc_opts = &options;

static struct vsock_transport *transport;

struct vsock_transport *vc_transport(void)
{
    return transport;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: vsockcat [options] ADDRESS1 ADDRESS2\n"
               "       vsockcat [options] CID:PORT     (STDIO to VSOCK-CONNECT:CID:PORT)\n"
               "       vsockcat [options] -l PORT      (VSOCK-LISTEN:PORT to STDIO)\n"
               "Relays data both ways between two addresses.\n\nOptions:\n");
    for (size_t i = 0; i < N_CLI_OPTIONS; i++) {
        const struct cli_option *o = &cli_options[i];
        char left[40];
        if (o->key < 256 && o->name)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", o->key, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else if (o->key < 256)
            snprintf(left, sizeof(left), "-%c%s%s", o->key, o->arg ? " " : "", o->arg ? o->arg : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        fprintf(f, "  %-24s %s\n", left, o->help);
    }
    fprintf(f, "\nTransports:");
    for (const char *const *t = vsock_transport_specs(); *t; t++)
        fprintf(f, " %s", *t);
    fprintf(f, "\n\n");
    vc_spec_print_help(f);
    fprintf(f, "\nExit status: 0 done, 1 runtime error, 2 usage error. See vsockcat(1).\n");
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("vsockcat: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see vsockcat --help)\n", stderr);
    return VC_EXIT_USAGE;
}

/* Builds getopt's tables from cli_options. */
static void build_getopt(char *shorts, size_t size, struct option *longs)
{
    size_t n = 0, l = 0;

    shorts[n++] = ':';   /* getopt returns ':' (not '?') for a missing argument */
    for (size_t i = 0; i < N_CLI_OPTIONS && n + 3 < size; i++) {
        const struct cli_option *o = &cli_options[i];
        if (o->key < 256) {
            shorts[n++] = (char)o->key;
            if (o->arg)
                shorts[n++] = ':';
        }
        if (o->name)
            longs[l++] = (struct option){o->name, o->arg ? required_argument : no_argument,
                                         NULL, o->key};
    }
    shorts[n] = '\0';
    longs[l] = (struct option){NULL, 0, NULL, 0};
}

int main(int argc, char **argv)
{
    char shorts[64], err[256], *listen_port = NULL, *texts[2], *owned = NULL;
    struct option longs[N_CLI_OPTIONS + 1];
    struct vc_addr_spec spec[2];
    int c, status, npos;
    bool uses_vsock = false;

    build_getopt(shorts, sizeof(shorts), longs);
    opterr = 0;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        switch (c) {
        case 'u':
            options.only_dir = 0;
            break;
        case 'U':
            options.only_dir = 1;
            break;
        case 't':
            if (vc_parse_seconds(optarg, &options.half_close_wait) < 0)
                return usage_error("-t: bad number of seconds '%s'", optarg);
            break;
        case 'T':
            if (vc_parse_seconds(optarg, &options.idle_timeout) < 0)
                return usage_error("-T: bad number of seconds '%s'", optarg);
            break;
        case 'b':
            if (vc_parse_size(optarg, &options.bufsize) < 0 || options.bufsize == 0 ||
                options.bufsize > MAX_BUFSIZE)
                return usage_error("-b: bad buffer size '%s' (1 byte to 64M)", optarg);
            break;
        case 'v':
            options.dump_text = true;
            break;
        case 'x':
            options.dump_hex = true;
            break;
        case 'd':
            options.debug++;
            break;
        case 'l':
            listen_port = optarg;
            break;
        case OPT_BUSY_POLL: {
            unsigned long usec;
            if (vc_parse_uint(optarg, MAX_BUSY_POLL_US, 10, &usec) < 0)
                return usage_error("--busy-poll: bad number of microseconds '%s' (0 to %u)",
                                   optarg, MAX_BUSY_POLL_US);
            options.busy_poll_us = (unsigned)usec;
            break;
        }
        case OPT_TRANSPORT:
            options.transport = optarg;
            break;
        case 'h':
            usage(stdout);
            return VC_EXIT_OK;
        case OPT_VERSION:
            printf("vsockcat (vsock-tools) %s\n", PACKAGE_VERSION);
            return VC_EXIT_OK;
        case ':':
            return usage_error("option '%s' needs an argument", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    vc_log_level = options.debug;

    npos = argc - optind;
    if (listen_port) {
        if (npos != 0)
            return usage_error("-l takes no addresses, got '%s'", argv[optind]);
        owned = malloc(strlen(listen_port) + sizeof("VSOCK-LISTEN:"));
        if (!owned)
            return VC_EXIT_RUNTIME;
        sprintf(owned, "VSOCK-LISTEN:%s", listen_port);
        texts[0] = owned;
        texts[1] = "STDIO";
    } else if (npos == 1) {
        struct sockaddr_vm sa;
        char why[128];
        if (vsock_parse_addr(argv[optind], &sa, why, sizeof(why)) < 0) {
            if (strchr(argv[optind], ':') && !strchr(strchr(argv[optind], ':') + 1, ':'))
                return usage_error("'%s' is not CID:PORT: %s", argv[optind], why);
            return usage_error("one address given ('%s'): need two, or CID:PORT", argv[optind]);
        }
        owned = malloc(strlen(argv[optind]) + sizeof("VSOCK-CONNECT:"));
        if (!owned)
            return VC_EXIT_RUNTIME;
        sprintf(owned, "VSOCK-CONNECT:%s", argv[optind]);
        texts[0] = "STDIO";
        texts[1] = owned;
    } else if (npos == 2) {
        texts[0] = argv[optind];
        texts[1] = argv[optind + 1];
    } else {
        return usage_error("%s", npos == 0 ? "no addresses given" : "more than two addresses");
    }

    for (int i = 0; i < 2; i++) {
        if (vc_spec_parse(texts[i], &spec[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "vsockcat: address %d '%s': %s\n", i + 1, texts[i], err);
            if (i == 1)
                vc_spec_free(&spec[0]);
            free(owned);
            return VC_EXIT_USAGE;
        }
        uses_vsock |= spec[i].type->uses_vsock;
    }
    free(owned);
    status = VC_EXIT_USAGE;
    if ((spec[0].o.set & VC_OPT_FORK) && (spec[1].o.set & VC_OPT_FORK)) {
        fprintf(stderr, "vsockcat: 'fork' on both addresses: only one side can serve\n");
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        if ((spec[i].o.set & VC_OPT_FORK) && spec[1 - i].type->kind != VC_KIND_CONNECT) {
            fprintf(stderr, "vsockcat: %s: 'fork' needs an address opened anew for each "
                            "connection on the other side (not %s)\n",
                    spec[i].text, spec[1 - i].type->name);
            goto out;
        }
        if ((spec[i].o.set & VC_OPT_MAX_CHILDREN) && !(spec[i].o.set & VC_OPT_FORK)) {
            fprintf(stderr, "vsockcat: %s: 'max-children' needs 'fork'\n", spec[i].text);
            goto out;
        }
    }
    if (spec[0].type == spec[1].type && spec[0].type->kind == VC_KIND_LOCAL &&
        strcasecmp(spec[0].type->name, "OPEN") != 0) {
        fprintf(stderr, "vsockcat: %s on both sides\n", spec[0].type->name);
        goto out;
    }

    if (uses_vsock) {
        int rc = vsock_transport_open(options.transport, &transport, err, sizeof(err));
        if (rc < 0) {
            const char *env = getenv("VSOCK_TRANSPORT");
            if (options.transport)
                fprintf(stderr, "vsockcat: --transport=%s: %s\n", options.transport, err);
            else if (env && *env)
                fprintf(stderr, "vsockcat: VSOCK_TRANSPORT=%s: %s\n", env, err);
            else
                fprintf(stderr, "vsockcat: %s\n", err);
            status = rc == -EINVAL ? VC_EXIT_USAGE : VC_EXIT_RUNTIME;
            goto out;
        }
        vc_log(1, "vsock transport %s (%s)", vsock_transport_name(transport),
               vsock_transport_reason(transport));
    }
    signal(SIGPIPE, SIG_IGN);
    status = vc_session_run(spec, &options);
    vc_restore_stdio_flags();
    if (transport)
        vsock_transport_close(transport);
out:
    vc_spec_free(&spec[0]);
    vc_spec_free(&spec[1]);
    return status;
}
