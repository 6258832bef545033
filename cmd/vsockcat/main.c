/* main.c: vsockcat's steps, in order: the global options (options.c), the two addresses
 * (or a shorthand for them), the checks on the pair, the vsock transport, then the
 * session. See vsockcat(1). */
#include "config.h"

#include <errno.h>
#include <libvsock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_diag.h"
#include "end.h"
#include "log.h"
#include "options.h"
#include "session.h"
#include "spec.h"

static struct vsock_transport *transport;

struct vsock_transport *vc_transport(void)
{
    return transport;
}

/* "PREFIX" followed by text, in a new string. */
static char *prefixed(const char *prefix, const char *text)
{
    char *s = malloc(strlen(prefix) + strlen(text) + 1);

    if (s)
        sprintf(s, "%s%s", prefix, text);
    return s;
}

/* The texts of the two addresses: the operands, or what a shorthand stands for (-l PORT,
 * CID:PORT). *owned is what the caller frees afterwards. */
static int address_texts(int n, char **words, const char *texts[2], char **owned)
{
    struct sockaddr_vm sa;
    const char *colon;
    char why[128];

    *owned = NULL;
    if (vc_opts->listen_port) {
        if (n != 0)
            return cli_usage_error("-l takes no addresses, got '%s'", words[0]);
        *owned = prefixed("VSOCK-LISTEN:", vc_opts->listen_port);
        texts[0] = *owned;
        texts[1] = "STDIO";
    } else if (n == 1) {
        if (vsock_parse_addr(words[0], &sa, why, sizeof(why)) < 0) {
            colon = strchr(words[0], ':');
            if (colon && !strchr(colon + 1, ':'))
                return cli_usage_error("'%s' is not CID:PORT: %s", words[0], why);
            return cli_usage_error("one address given ('%s'): need two, or CID:PORT", words[0]);
        }
        *owned = prefixed("VSOCK-CONNECT:", words[0]);
        texts[0] = "STDIO";
        texts[1] = *owned;
    } else if (n == 2) {
        texts[0] = words[0];
        texts[1] = words[1];
    } else {
        return cli_usage_error("%s", n == 0 ? "no addresses given" : "more than two addresses");
    }
    return texts[0] && texts[1] ? VC_EXIT_OK : VC_EXIT_RUNTIME;   /* or out of memory */
}

/* Parses the addresses given by the n operands in words into spec[0] and spec[1]. */
static int parse_addresses(int n, char **words, struct vc_addr_spec spec[2])
{
    const char *texts[2];
    char err[256], *owned;
    int status = address_texts(n, words, texts, &owned);

    for (int i = 0; i < 2 && status == VC_EXIT_OK; i++) {
        if (vc_spec_parse(texts[i], &spec[i], err, sizeof(err)) < 0) {
            cli_error("address %d '%s': %s", i + 1, texts[i], err);
            if (i == 1)
                vc_spec_free(&spec[0]);
            status = VC_EXIT_USAGE;
        }
    }
    free(owned);
    return status;
}

/* What each address allows alone is checked by its parser; these rules are about the
 * pair: who serves with fork, and local endpoints that cannot be both sides. */
static int check_pair(const struct vc_addr_spec spec[2])
{
    if ((spec[0].o.set & VC_OPT_FORK) && (spec[1].o.set & VC_OPT_FORK)) {
        cli_error("'fork' on both addresses: only one side can serve");
        return VC_EXIT_USAGE;
    }
    for (int i = 0; i < 2; i++) {
        if ((spec[i].o.set & VC_OPT_FORK) && spec[1 - i].type->kind != VC_KIND_CONNECT) {
            cli_error("%s: 'fork' needs an address opened anew for each connection on the "
                      "other side (not %s)", spec[i].text, spec[1 - i].type->name);
            return VC_EXIT_USAGE;
        }
        if ((spec[i].o.set & VC_OPT_MAX_CHILDREN) && !(spec[i].o.set & VC_OPT_FORK)) {
            cli_error("%s: 'max-children' needs 'fork'", spec[i].text);
            return VC_EXIT_USAGE;
        }
    }
    if (spec[0].type == spec[1].type && spec[0].type->kind == VC_KIND_LOCAL &&
        strcasecmp(spec[0].type->name, "OPEN") != 0) {
        cli_error("%s on both sides", spec[0].type->name);
        return VC_EXIT_USAGE;
    }
    return VC_EXIT_OK;
}

/* Opens the libvsock transport if an address needs one. The message names where the
 * spec came from, so a stale VSOCK_TRANSPORT is easy to spot. */
static int open_transport(const struct vc_addr_spec spec[2])
{
    const char *env = getenv("VSOCK_TRANSPORT");
    char err[256];
    int rc;

    if (!spec[0].type->uses_vsock && !spec[1].type->uses_vsock)
        return VC_EXIT_OK;
    rc = vsock_transport_open(vc_opts->transport, &transport, err, sizeof(err));
    if (rc < 0) {
        if (vc_opts->transport)
            cli_error("--transport=%s: %s", vc_opts->transport, err);
        else if (env && *env)
            cli_error("VSOCK_TRANSPORT=%s: %s", env, err);
        else
            cli_error("%s", err);
        return rc == -EINVAL ? VC_EXIT_USAGE : VC_EXIT_RUNTIME;
    }
    vc_log(1, "vsock transport %s (%s)", vsock_transport_name(transport),
           vsock_transport_reason(transport));
    return VC_EXIT_OK;
}

static int relay(struct vc_addr_spec spec[2])
{
    int status;

    signal(SIGPIPE, SIG_IGN);
    status = vc_session_run(spec, vc_opts);
    vc_restore_stdio_flags();
    if (transport)
        vsock_transport_close(transport);
    return status;
}

int main(int argc, char **argv)
{
    struct vc_addr_spec spec[2];
    int status, first = vc_options_parse(argc, argv, &status);

    if (first < 0)
        return status;
    status = parse_addresses(argc - first, argv + first, spec);
    if (status != VC_EXIT_OK)
        return status;
    status = check_pair(spec);
    if (status == VC_EXIT_OK)
        status = open_transport(spec);
    if (status == VC_EXIT_OK)
        status = relay(spec);
    vc_spec_free(&spec[0]);
    vc_spec_free(&spec[1]);
    return status;
}
