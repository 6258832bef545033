/* commands.c: the vsockctl command table, its parser and the command handlers.
 * Handlers ask libvsock and print through output.c; they never know which transport
 * runs, and never exit: they return an exit status (commands.h) so the shell goes on. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvsock.h"
#include "util/why.h"

#include "cli_diag.h"
#include "commands.h"
#include "options.h"
#include "output.h"
#include "pci_cmds.h"
#include "sockets.h"

#define PROGRAM "vsockctl"

static int cmd_cid(struct ctl_context *ctx, const struct ctl_call *call);
static int cmd_transport(struct ctl_context *ctx, const struct ctl_call *call);
static int cmd_info(struct ctl_context *ctx, const struct ctl_call *call);
static int cmd_sockets(struct ctl_context *ctx, const struct ctl_call *call);
static int cmd_help(struct ctl_context *ctx, const struct ctl_call *call);
static int cmd_version(struct ctl_context *ctx, const struct ctl_call *call);
static int cmd_quit(struct ctl_context *ctx, const struct ctl_call *call);

/* Bits of ctl_call.flags follow the order of each options array. */
static const char *const info_options[] = {"--json", NULL};
#define INFO_JSON (1u << 0)
static const char *const bind_options[] = {"--force", NULL};
static const char *const sockets_options[] = {"--listening", "--json", NULL};
#define SOCKETS_LISTENING (1u << 0)
#define SOCKETS_JSON (1u << 1)

const struct ctl_command ctl_commands[] = {
    {"cid", "", "print the local CID (just the number)", NULL, 0, CTL_ARG_NONE, 0, cmd_cid},
    {"transport", "", "print the transport in use and why it was chosen", NULL, 0,
     CTL_ARG_NONE, 0, cmd_transport},
    {"info", "[--json]", "print everything the transport reports, as a table or JSON",
     info_options, 0, CTL_ARG_NONE, 0, cmd_info},
    {"sockets", "[--listening] [--json]",
     "list the kernel's vsock sockets (vsock_diag), as ss --vsock does", sockets_options, 0,
     CTL_ARG_NONE, 0, cmd_sockets},
    {"devices", "", "list the virtio-vsock PCI devices and their drivers", NULL, 0,
     CTL_ARG_NONE, 0, cmd_pci_devices},
    {"bind", "[--force] [PCI-ADDRESS]", "hand a virtio-vsock PCI device to uio_pci_generic",
     bind_options, 1, CTL_ARG_NONE, 0, cmd_pci_bind},
    {"unbind", "[PCI-ADDRESS]", "give a device bound to uio_pci_generic back to its driver",
     NULL, 1, CTL_ARG_NONE, 0, cmd_pci_unbind},
    {"uio-check", "", "check what the uio transport needs and say what is missing", NULL, 0,
     CTL_ARG_NONE, 0, cmd_uio_check},
    {"help", "[COMMAND]", "list the commands, or show how to use one", NULL, 1,
     CTL_ARG_COMMAND, 0, cmd_help},
    {"version", "", "print the vsockctl and libvsock versions", NULL, 0, CTL_ARG_NONE, 0,
     cmd_version},
    {"quit", "", "leave the shell (as do exit and Ctrl-D)", NULL, 0, CTL_ARG_NONE, 1,
     cmd_quit},
    {"exit", "", "leave the shell", NULL, 0, CTL_ARG_NONE, 1, cmd_quit},
};
const size_t ctl_command_count = sizeof(ctl_commands) / sizeof(ctl_commands[0]);

/* ---- Table lookup and completion ------------------------------------------------ */

const struct ctl_command *ctl_command_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < ctl_command_count; i++)
        if (strcmp(ctl_commands[i].name, name) == 0)
            return &ctl_commands[i];
    return NULL;
}

const char *ctl_complete_command(const char *prefix, size_t *state)
{
    size_t len = strlen(prefix);

    while (*state < ctl_command_count) {
        const struct ctl_command *cmd = &ctl_commands[(*state)++];

        if (strncmp(cmd->name, prefix, len) == 0)
            return cmd->name;
    }
    return NULL;
}

/* Candidates are the command's options, then (for help) the command names; *state
 * counts through both lists. */
const char *ctl_complete_argument(const struct ctl_command *cmd, const char *prefix,
                                  size_t *state)
{
    size_t len = strlen(prefix), n_options = 0;

    while (cmd->options != NULL && cmd->options[n_options] != NULL)
        n_options++;
    while (*state < n_options) {
        const char *option = cmd->options[(*state)++];

        if (strncmp(option, prefix, len) == 0)
            return option;
    }
    if (cmd->arg_kind == CTL_ARG_COMMAND) {
        size_t sub = *state - n_options;
        const char *name = ctl_complete_command(prefix, &sub);

        *state = n_options + sub;
        return name;
    }
    return NULL;
}

/* ---- Parsing and dispatch ------------------------------------------------------- */

int ctl_parse_call(const struct ctl_command *cmd, int argc, char **argv,
                   struct ctl_call *call, char *why, size_t why_size)
{
    memset(call, 0, sizeof(*call));
    call->cmd = cmd;
    call->argv = argv;
    for (int i = 0; i < argc; i++) {
        char *word = argv[i];

        if (word[0] == '-' && word[1] != '\0') {
            unsigned int bit = 1;
            int known = 0;

            if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0) {
                call->want_help = 1;
                continue;
            }
            for (size_t k = 0; cmd->options != NULL && cmd->options[k] != NULL; k++, bit <<= 1) {
                if (strcmp(word, cmd->options[k]) == 0) {
                    call->flags |= bit;
                    known = 1;
                    break;
                }
            }
            if (!known) {
                why_set(why, why_size, "%s: unknown option", word);
                return CTL_USAGE;
            }
        } else {
            if (call->argc >= cmd->max_args) {
                why_set(why, why_size, "unexpected argument '%s'", word);
                return CTL_USAGE;
            }
            /* Compacts the positional words to the front; never overtakes i. */
            argv[call->argc++] = word;
        }
    }
    return CTL_OK;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int ctl_split_words(char *line, char **words, int max)
{
    char *p = line;
    int n = 0;

    for (;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0' || *p == '#')
            return n;
        if (n == max)
            return -1;
        words[n++] = p;
        while (*p != '\0' && !is_blank(*p))
            p++;
        if (*p != '\0')
            *p++ = '\0';
    }
}

/* Reports a stdout that cannot be written (a full disk, a closed pipe) as a failure
 * instead of exiting 0 with truncated output. */
static int flush_stdout(int status)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("stdout: %s", strerror(errno != 0 ? errno : EIO));
        clearerr(stdout);
        if (status < CTL_FAILED)
            status = CTL_FAILED;
    }
    return status;
}

static void print_command_usage(const struct ctl_context *ctx, const struct ctl_command *cmd)
{
    printf("Usage: %s%s%s%s\n  %s\n", ctx->in_shell ? "" : PROGRAM " ", cmd->name,
           cmd->args[0] != '\0' ? " " : "", cmd->args, cmd->help);
}

int ctl_run(struct ctl_context *ctx, int argc, char **argv)
{
    const struct ctl_command *cmd;
    struct ctl_call call;
    char why[256];
    int status;

    if (argc < 1)
        return CTL_OK;
    cmd = ctl_command_find(argv[0]);
    if (cmd == NULL) {
        cli_error("%s: unknown command (try '%shelp')", argv[0], ctx->in_shell ? "" : PROGRAM " ");
        return CTL_USAGE;
    }
    if (cmd->shell_only && !ctx->in_shell) {
        cli_error("%s: only valid in the shell (run " PROGRAM " without a command)", cmd->name);
        return CTL_USAGE;
    }
    if (ctl_parse_call(cmd, argc - 1, argv + 1, &call, why, sizeof(why)) != CTL_OK) {
        cli_error("%s: %s", cmd->name, why);
        return CTL_USAGE;
    }
    if (call.want_help) {
        print_command_usage(ctx, cmd);
        status = CTL_OK;
    } else {
        status = cmd->run(ctx, &call);
    }
    return flush_stdout(status);
}

int ctl_run_line(struct ctl_context *ctx, char *line)
{
    char *words[32];
    int n = ctl_split_words(line, words, (int)(sizeof(words) / sizeof(words[0])));

    if (n < 0) {
        cli_error("line has more than %zu words", sizeof(words) / sizeof(words[0]));
        return CTL_USAGE;
    }
    return ctl_run(ctx, n, words);
}

/* ---- Handlers ----------------------------------------------------------------- */

/* Opens the transport the user asked for. A spec libvsock does not understand (EINVAL)
 * is a usage error; a transport that cannot run here is a runtime failure. The message
 * names where the spec came from, so a stale VSOCK_TRANSPORT is easy to spot. */
static int open_transport(const struct ctl_context *ctx, struct vsock_transport **t)
{
    const char *env = getenv("VSOCK_TRANSPORT");
    char why[512] = "";
    int rc = vsock_transport_open(ctx->transport_spec, t, why, sizeof(why));

    if (rc == 0)
        return CTL_OK;
    if (why[0] == '\0')
        snprintf(why, sizeof(why), "%s", strerror(-rc));
    if (ctx->transport_spec != NULL)
        cli_error("--transport=%s: %s", ctx->transport_spec, why);
    else if (env != NULL && env[0] != '\0')
        cli_error("VSOCK_TRANSPORT=%s: %s", env, why);
    else
        cli_error("transport: %s", why);
    return rc == -EINVAL ? CTL_USAGE : CTL_FAILED;
}

static int cmd_cid(struct ctl_context *ctx, const struct ctl_call *call)
{
    struct vsock_transport *t;
    uint32_t cid = 0;
    int status = open_transport(ctx, &t), rc;

    (void)call;
    if (status != CTL_OK)
        return status;
    rc = vsock_local_cid(t, &cid);
    if (rc < 0)
        cli_error("local CID (%s transport): %s", vsock_transport_name(t), strerror(-rc));
    else if (cid == VMADDR_CID_ANY)
        cli_error("local CID (%s transport): not assigned (no vsock device)",
                  vsock_transport_name(t));
    else
        printf("%" PRIu32 "\n", cid);
    vsock_transport_close(t);
    return rc < 0 || cid == VMADDR_CID_ANY ? CTL_FAILED : CTL_OK;
}

static int cmd_transport(struct ctl_context *ctx, const struct ctl_call *call)
{
    struct vsock_transport *t;
    int status = open_transport(ctx, &t);

    (void)call;
    if (status != CTL_OK)
        return status;
    printf("%s (%s)\n", vsock_transport_name(t), vsock_transport_reason(t));
    vsock_transport_close(t);
    return CTL_OK;
}

static void info_field(void *fields, const char *key, const char *value)
{
    out_fields_add(fields, key != NULL ? key : "", value);
}

static int cmd_info(struct ctl_context *ctx, const struct ctl_call *call)
{
    struct out_fields fields = {0};
    struct vsock_transport *t;
    int status = open_transport(ctx, &t), rc;

    if (status != CTL_OK)
        return status;
    out_fields_add(&fields, "transport", vsock_transport_name(t));
    out_fields_add(&fields, "reason", vsock_transport_reason(t));
    rc = vsock_transport_describe(t, info_field, &fields);
    if (rc < 0) {
        cli_error("info (%s transport): %s", vsock_transport_name(t), strerror(-rc));
        status = CTL_FAILED;
        goto out;
    }
    out_fields_add(&fields, "libvsock_version", vsock_version_string());
    if (fields.failed) {
        cli_error("info: %s", strerror(ENOMEM));
        status = CTL_FAILED;
        goto out;
    }
    if (call->flags & INFO_JSON)
        out_print_json(stdout, &fields);
    else
        out_print_table(stdout, &fields);
out:
    vsock_transport_close(t);
    out_fields_free(&fields);
    return status;
}

/* ---- sockets */

struct socket_list {
    struct sockets_row *rows;
    size_t count, capacity;
    int listening_only;
};

static int collect_row(void *ctx, const struct sockets_row *row)
{
    struct socket_list *l = ctx;

    if (l->listening_only && row->state != SOCKETS_STATE_LISTEN)
        return 0;
    if (l->count == l->capacity) {
        size_t cap = l->capacity ? 2 * l->capacity : 64;
        struct sockets_row *grown = realloc(l->rows, cap * sizeof(*grown));

        if (grown == NULL)
            return -ENOMEM;
        l->rows = grown;
        l->capacity = cap;
    }
    l->rows[l->count++] = *row;
    return 0;
}

/* Listeners first, then by local port, then peer: the same order on every run. */
static int compare_rows(const void *a, const void *b)
{
    const struct sockets_row *x = a, *y = b;
    int lx = x->state == SOCKETS_STATE_LISTEN, ly = y->state == SOCKETS_STATE_LISTEN;

    if (lx != ly)
        return ly - lx;
    if (x->local.port != y->local.port)
        return x->local.port < y->local.port ? -1 : 1;
    if (x->peer.cid != y->peer.cid)
        return x->peer.cid < y->peer.cid ? -1 : 1;
    if (x->peer.port != y->peer.port)
        return x->peer.port < y->peer.port ? -1 : 1;
    return 0;
}

static const char *type_name(uint8_t type)
{
    static const char *const names[] = {[1] = "stream", [2] = "dgram", [5] = "seqpacket"};

    return type < sizeof(names) / sizeof(names[0]) && names[type] ? names[type] : "unknown";
}

/* "*" for VMADDR_CID_ANY / VMADDR_PORT_ANY, as ss prints them. */
static void format_addr(char *out, size_t size, struct sockets_addr a)
{
    char cid[16], port[16];

    snprintf(cid, sizeof(cid), a.cid == VMADDR_CID_ANY ? "*" : "%" PRIu32, a.cid);
    snprintf(port, sizeof(port), a.port == VMADDR_PORT_ANY ? "*" : "%" PRIu32, a.port);
    snprintf(out, size, "%s:%s", cid, port);
}

static void print_sockets_table(const struct socket_list *l)
{
    printf("%-10s %-9s %-22s %-22s %s\n", "State", "Type", "Local", "Peer", "Inode");
    for (size_t i = 0; i < l->count; i++) {
        const struct sockets_row *r = &l->rows[i];
        char local[32], peer[32];

        format_addr(local, sizeof(local), r->local);
        format_addr(peer, sizeof(peer), r->peer);
        printf("%-10s %-9s %-22s %-22s %" PRIu32 "\n", sockets_state_name(r->state),
               type_name(r->type), local, peer, r->inode);
    }
}

static void print_sockets_json(const struct socket_list *l)
{
    putchar('[');
    for (size_t i = 0; i < l->count; i++) {
        const struct sockets_row *r = &l->rows[i];

        printf("%s{\"state\": \"%s\", \"type\": \"%s\", \"local_cid\": %" PRIu32
               ", \"local_port\": %" PRIu32 ", \"peer_cid\": %" PRIu32
               ", \"peer_port\": %" PRIu32 ", \"shutdown\": %u, \"inode\": %" PRIu32 "}",
               i ? ", " : "", sockets_state_name(r->state), type_name(r->type), r->local.cid,
               r->local.port, r->peer.cid, r->peer.port, r->shutdown, r->inode);
    }
    printf("]\n");
}

static int cmd_sockets(struct ctl_context *ctx, const struct ctl_call *call)
{
    const char *spec = ctx->transport_spec ? ctx->transport_spec : getenv("VSOCK_TRANSPORT");
    struct socket_list l = {.listening_only = (call->flags & SOCKETS_LISTENING) != 0};
    int rc;

    /* A userspace transport's sockets live inside the one process driving the device;
     * only the kernel can be asked. The transport is not opened: that would take the
     * device from its owner. */
    if (spec != NULL && spec[0] != '\0' && strcmp(spec, "kernel") != 0 &&
        strcmp(spec, "auto") != 0) {
        cli_error("sockets: only kernel AF_VSOCK sockets can be listed, not those of "
                  "transport '%s' (they live in the process that drives the device)", spec);
        return CTL_FAILED;
    }
    rc = sockets_dump(collect_row, &l);
    if (rc < 0) {
        if (rc == -ENOENT || rc == -EOPNOTSUPP || rc == -EINVAL)
            cli_error("sockets: the kernel cannot list vsock sockets (%s): load vsock_diag "
                      "(modprobe vsock_diag)", strerror(-rc));
        else
            cli_error("sockets: sock_diag: %s", strerror(-rc));
        free(l.rows);
        return CTL_FAILED;
    }
    if (l.count > 1)
        qsort(l.rows, l.count, sizeof(l.rows[0]), compare_rows);
    if (call->flags & SOCKETS_JSON)
        print_sockets_json(&l);
    else
        print_sockets_table(&l);
    free(l.rows);
    return CTL_OK;
}

static void print_overview(const struct ctl_context *ctx)
{
    size_t width = 0;

    if (!ctx->in_shell)
        printf("Usage: " PROGRAM " [--transport=SPEC] [COMMAND [ARGUMENT...]]\n"
               "Shows the local vsock CID and transport. Without a command, reads commands\n"
               "from stdin (an interactive shell when stdin and stdout are a terminal).\n\n");
    for (size_t i = 0; i < ctl_command_count; i++) {
        size_t w = strlen(ctl_commands[i].name) + 1 + strlen(ctl_commands[i].args);
        if (w > width)
            width = w;
    }
    printf("Commands:\n");
    for (size_t i = 0; i < ctl_command_count; i++) {
        const struct ctl_command *cmd = &ctl_commands[i];
        size_t w = strlen(cmd->name) + (cmd->args[0] != '\0' ? 1 + strlen(cmd->args) : 0);

        printf("  %s%s%s%*s  %s\n", cmd->name, cmd->args[0] != '\0' ? " " : "", cmd->args,
               (int)(width - w), "", cmd->help);
    }
    if (ctx->in_shell)
        return;
    printf("\nOptions:\n");
    ctl_print_options(stdout);
    printf("\nExit status: 0 success, 1 runtime failure, 2 usage error. See vsockctl(8).\n");
}

static int cmd_help(struct ctl_context *ctx, const struct ctl_call *call)
{
    const struct ctl_command *cmd;

    if (call->argc == 0) {
        print_overview(ctx);
        return CTL_OK;
    }
    cmd = ctl_command_find(call->argv[0]);
    if (cmd == NULL) {
        cli_error("help: %s: unknown command", call->argv[0]);
        return CTL_USAGE;
    }
    print_command_usage(ctx, cmd);
    return CTL_OK;
}

static int cmd_version(struct ctl_context *ctx, const struct ctl_call *call)
{
    (void)ctx;
    (void)call;
    printf(PROGRAM " (%s) %s, libvsock %s\n", PACKAGE_NAME, PACKAGE_VERSION,
           vsock_version_string());
    return CTL_OK;
}

static int cmd_quit(struct ctl_context *ctx, const struct ctl_call *call)
{
    (void)call;
    ctx->quit = 1;
    return CTL_OK;
}
