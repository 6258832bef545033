/* vsock-conformance: runs the vsock(4) conformance cases against one libvsock transport
 * and prints TAP, one line per case. Each case runs in its own process with a time limit,
 * so a hang or crash fails that case only. The cases CONNECT: on a machine whose kernel
 * vsock leaves the box, run only --list; the QEMU guest harness runs the rest. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "suite.h"

#define CASE_TIME_LIMIT 90 /* seconds; large_transfer under TCG needs the most */

long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

short wait_fd(int fd, short events, int ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    long long deadline = now_ms() + ms;
    int rc;

    for (;;) {
        rc = poll(&p, 1, ms);
        if (rc > 0)
            return p.revents;
        if (rc == 0 || errno != EINTR)
            return 0;
        ms = (int)(deadline - now_ms());
        if (ms < 0)
            return 0;
    }
}

static const struct {
    const char *prefix;
    const struct peer_ops *ops;
} peer_table[] = {
    {"local", &peer_local_ops},
    {"hybrid:", &peer_hybrid_ops},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vsock-conformance [--transport SPEC] [--peer local|hybrid:UDS_PATH]\n"
            "         [--group main|no-transport] [--only NAME[,NAME...]] [--port-base N]\n"
            "         [--expect-cid CID] [--blackhole-cid CID] [--no-route-cid CID]\n"
            "         [--allow-guest-to-host]\n"
            "       vsock-conformance --list\n"
            "Runs the vsock(4) conformance cases and prints TAP. The cases connect: run them\n"
            "only where kernel vsock stays inside the machine (a test guest).\n");
}

static int parse_u32(const char *opt, const char *text, uint32_t *out)
{
    char why[128];

    if (vsock_parse_cid(text, out, why, sizeof(why)) < 0) {
        fprintf(stderr, "vsock-conformance: %s %s: %s\n", opt, text, why);
        return -1;
    }
    return 0;
}

static int selected(const char *only, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = only; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* In the case's own process: open the transport, run, report through the pipe. The
 * exit status carries the result; leaks do not matter in a throwaway process. */
static int run_child(struct suite *s, const struct conformance_case *c, int out)
{
    enum case_result r = CASE_FAIL;
    char why[256] = "";
    int rc;

    alarm(CASE_TIME_LIMIT);
    if (!(c->flags & CASE_NO_OPEN)) {
        rc = vsock_transport_open(s->transport_spec, &s->t, why, sizeof(why));
        if (rc < 0) {
            case_note(s, CASE_FAIL, "opening transport: %s", why);
            goto report;
        }
        rc = s->peer->init(s, s->peer_arg, why, sizeof(why));
        if (rc < 0) {
            case_note(s, CASE_FAIL, "peer: %s", why);
            goto report;
        }
    }
    r = c->run(s);
report:
    s->detail[sizeof(s->detail) - 1] = '\0';
    if (write(out, s->detail, strlen(s->detail)) < 0)
        return CASE_FAIL;
    return (int)r;
}

static enum case_result run_case(struct suite *s, const struct conformance_case *c, size_t index)
{
    int fds[2], status = 0;
    pid_t pid;
    ssize_t n;

    s->port = s->port_base + (uint32_t)index * 16;
    s->detail[0] = '\0';
    fflush(stdout);
    if (pipe(fds) < 0)
        return case_note(s, CASE_FAIL, "pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0)
        return case_note(s, CASE_FAIL, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        _exit(run_child(s, c, fds[1]));
    }
    close(fds[1]);
    n = read(fds[0], s->detail, sizeof(s->detail) - 1);
    s->detail[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status))
        return case_note(s, CASE_FAIL, "%s%s", WTERMSIG(status) == SIGALRM
                                                   ? "timed out after the case's time limit"
                                                   : "killed by signal ",
                         WTERMSIG(status) == SIGALRM ? "" : strsignal(WTERMSIG(status)));
    if (!WIFEXITED(status) || WEXITSTATUS(status) > CASE_SKIP)
        return case_note(s, CASE_FAIL, "case process failed (status 0x%x)", (unsigned)status);
    return (enum case_result)WEXITSTATUS(status);
}

/* The cases connect to CID 1, to a CID nobody routes and to --blackhole-cid. On the
 * kernel transport those connects leave the machine when a guest->host transport is
 * loaded (local CID >= 3), and CID 1 does too when vsock_loopback is missing. Refuse to
 * run there: the suite is for a test guest. */
struct module_scan {
    int loopback;
};

static void scan_modules(void *ctx, const char *key, const char *value)
{
    struct module_scan *ms = ctx;

    if (strcmp(key, "modules") == 0) {
        for (const char *p = strstr(value, "vsock_loopback"); p; p = strstr(p + 1, "vsock_loopback"))
            if ((p == value || p[-1] == ' ') && (p[14] == '\0' || p[14] == ' '))
                ms->loopback = 1;
    }
}

static int safe_to_connect(struct suite *s, int no_transport_group, int allow_g2h, char *why,
                           size_t why_size)
{
    struct vsock_transport *t = NULL;
    struct module_scan ms = {0};
    uint32_t cid = VMADDR_CID_ANY;
    int rc = vsock_transport_open(s->transport_spec, &t, why, why_size);

    if (rc < 0)
        return no_transport_group ? 0 : rc; /* the cases report the failure themselves */
    if (strcmp(vsock_transport_name(t), "kernel") != 0) {
        vsock_transport_close(t);
        return 0;
    }
    rc = vsock_local_cid(t, &cid);
    vsock_transport_describe(t, scan_modules, &ms);
    vsock_transport_close(t);
    if (rc < 0) {
        snprintf(why, why_size, "cannot read the local CID: %s", strerror(-rc));
        return rc;
    }
    if (no_transport_group && cid != VMADDR_CID_ANY) {
        snprintf(why, why_size, "--group no-transport needs a kernel without vsock transports "
                 "(local CID is %u)", cid);
        return -EPERM;
    }
    if (!no_transport_group && cid >= 3 && cid != VMADDR_CID_ANY && !allow_g2h) {
        snprintf(why, why_size, "kernel vsock has a guest->host transport (local CID %u): "
                 "connects would leave this machine; run in a test guest "
                 "(--allow-guest-to-host if its host is yours)", cid);
        return -EPERM;
    }
    if (!no_transport_group && s->peer == &peer_local_ops && !ms.loopback) {
        snprintf(why, why_size, "--peer local needs vsock_loopback (CID 1 would leave "
                 "this machine)");
        return -EPERM;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"transport", required_argument, NULL, 't'}, {"peer", required_argument, NULL, 'p'},
        {"group", required_argument, NULL, 'g'},     {"only", required_argument, NULL, 'o'},
        {"port-base", required_argument, NULL, 'b'}, {"expect-cid", required_argument, NULL, 'c'},
        {"blackhole-cid", required_argument, NULL, 'B'},
        {"no-route-cid", required_argument, NULL, 'n'},
        {"allow-guest-to-host", no_argument, NULL, 'G'},
        {"list", no_argument, NULL, 'l'},           {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct suite s = {.peer = &peer_local_ops, .port_base = 20000, .no_route_cid = 74565};
    const char *group = "main", *only = NULL, *peer = "local";
    int list = 0, failed = 0, opt, planned = 0, n = 0, allow_g2h = 0;
    char why[256] = "";

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 't': s.transport_spec = optarg; break;
        case 'p': peer = optarg; break;
        case 'g': group = optarg; break;
        case 'o': only = optarg; break;
        case 'b':
            if (parse_u32("--port-base", optarg, &s.port_base) < 0)
                return 2;
            break;
        case 'c':
            if (parse_u32("--expect-cid", optarg, &s.expect_cid) < 0)
                return 2;
            s.have_expect_cid = 1;
            break;
        case 'B':
            if (parse_u32("--blackhole-cid", optarg, &s.blackhole_cid) < 0)
                return 2;
            s.have_blackhole = 1;
            break;
        case 'n':
            if (parse_u32("--no-route-cid", optarg, &s.no_route_cid) < 0)
                return 2;
            break;
        case 'G': allow_g2h = 1; break;
        case 'l': list = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (list) {
        for (size_t i = 0; i < conformance_case_count; i++)
            printf("%s\t%s\t%s\n", conformance_cases[i].name,
                   conformance_cases[i].flags & CASE_NO_TRANSPORT ? "no-transport" : "main",
                   conformance_cases[i].summary);
        return 0;
    }
    if (strcmp(group, "main") != 0 && strcmp(group, "no-transport") != 0) {
        fprintf(stderr, "vsock-conformance: --group %s: want main or no-transport\n", group);
        return 2;
    }
    s.peer = NULL;
    for (size_t i = 0; i < sizeof(peer_table) / sizeof(peer_table[0]); i++) {
        size_t len = strlen(peer_table[i].prefix);
        if (strncmp(peer, peer_table[i].prefix, len) == 0 &&
            (peer_table[i].prefix[len - 1] == ':' || peer[len] == '\0')) {
            s.peer = peer_table[i].ops;
            s.peer_arg = peer + len;
        }
    }
    if (s.peer == NULL) {
        fprintf(stderr, "vsock-conformance: --peer %s: want local or hybrid:UDS_PATH\n", peer);
        return 2;
    }
    /* Check the peer can be set up before forking every case into the same error. */
    if (s.peer != &peer_local_ops && s.peer->init(&s, s.peer_arg, why, sizeof(why)) < 0) {
        fprintf(stderr, "vsock-conformance: --peer %s: %s\n", peer, why);
        return 1;
    }
    for (size_t i = 0; i < conformance_case_count; i++) {
        const struct conformance_case *c = &conformance_cases[i];
        int in_group = !!(c->flags & CASE_NO_TRANSPORT) == (strcmp(group, "no-transport") == 0);
        if (in_group && (only == NULL || selected(only, c->name)))
            planned++;
    }
    if (planned == 0) {
        fprintf(stderr, "vsock-conformance: no case selected\n");
        return 2;
    }
    if (safe_to_connect(&s, strcmp(group, "no-transport") == 0, allow_g2h, why, sizeof(why)) < 0) {
        fprintf(stderr, "vsock-conformance: refusing to run: %s\n", why);
        return 1;
    }
    printf("1..%d\n", planned);
    for (size_t i = 0; i < conformance_case_count; i++) {
        const struct conformance_case *c = &conformance_cases[i];
        int in_group = !!(c->flags & CASE_NO_TRANSPORT) == (strcmp(group, "no-transport") == 0);
        enum case_result r;

        if (!in_group || (only != NULL && !selected(only, c->name)))
            continue;
        r = run_case(&s, c, i);
        n++;
        if (r == CASE_SKIP)
            printf("ok %d - %s # SKIP %s\n", n, c->name, s.detail);
        else
            printf("%s %d - %s: %s\n", r == CASE_OK ? "ok" : "not ok", n, c->name, s.detail);
        fflush(stdout);
        failed += r == CASE_FAIL;
    }
    return failed ? 1 : 0;
}
