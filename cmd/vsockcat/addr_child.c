/* addr_child.c: EXEC:cmd (argv split here, no shell) and SYSTEM:cmd (/bin/sh -c). The
 * child's stdin and stdout are one end of a socketpair, so half-close reaches it as EOF
 * and its exit reaches us as EOF. Children are tracked so the process can wait for
 * them, and end them, when the relay is over. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addrtypes.h"
#include "children.h"
#include "log.h"
#include "open.h"
#include "spec.h"

struct child {
    uv_process_t proc;
    struct child *next;
};

static struct child *live_children;
static uv_timer_t *reaper;

static void on_child_closed(uv_handle_t *h)
{
    free(h);   /* proc is the first member of struct child */
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void on_child_exit(uv_process_t *p, int64_t status, int signo)
{
    struct child **pp;

    for (pp = &live_children; *pp; pp = &(*pp)->next)
        if (&(*pp)->proc == p) {
            *pp = (*pp)->next;
            break;
        }
    if (signo)
        vc_log(1, "child %d killed by signal %d", p->pid, signo);
    else
        vc_log(1, "child %d exited with status %lld", p->pid, (long long)status);
    uv_close((uv_handle_t *)p, on_child_closed);
    if (!live_children && reaper) {
        uv_close((uv_handle_t *)reaper, free_handle);
        reaper = NULL;
    }
}

static void spawn_child(struct vc_open_req *req, char **argv)
{
    uv_stdio_container_t stdio[3];
    uv_process_options_t po = {0};
    struct child *c;
    struct vc_end *e;
    int sv[2], rc;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        vc_open_done(req, NULL, -errno, "socketpair");
        return;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        close(sv[0]);
        close(sv[1]);
        vc_open_done(req, NULL, -ENOMEM, "spawn");
        return;
    }
    stdio[0].flags = UV_INHERIT_FD;
    stdio[0].data.fd = sv[1];
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = sv[1];
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = STDERR_FILENO;
    po.file = argv[0];
    po.args = argv;
    po.stdio = stdio;
    po.stdio_count = 3;
    po.exit_cb = on_child_exit;
    rc = uv_spawn(req->loop, &c->proc, &po);
    close(sv[1]);
    if (rc < 0) {
        uv_close((uv_handle_t *)&c->proc, on_child_closed);
        close(sv[0]);
        vc_open_done(req, NULL, rc, "exec");
        return;
    }
    c->next = live_children;
    live_children = c;
    vc_log(1, "%s: started child %d", req->spec->text, c->proc.pid);
    e = vc_end_new_fd(sv[0], sv[0], VC_END_OWN_FDS | VC_END_SOCKET, req->spec->text);
    if (!e)
        close(sv[0]);
    vc_open_done(req, e, -ENOMEM, "spawn");
}

static int exec_check(struct vc_addr_spec *spec, char *err, size_t errsize)
{
    char **argv = vc_split_words(spec->args[0], err, errsize);

    if (!argv)
        return -1;
    free(argv);
    return 0;
}

static void exec_open(struct vc_open_req *req)
{
    char err[128];
    char **argv = vc_split_words(req->spec->args[0], err, sizeof(err));

    if (!argv) {
        vc_open_done(req, NULL, -EINVAL, "exec");
        return;
    }
    spawn_child(req, argv);
    free(argv);
}

static void system_open(struct vc_open_req *req)
{
    char *argv[] = {"/bin/sh", "-c", req->spec->args[0], NULL};

    spawn_child(req, argv);
}

const struct vc_addr_type vc_type_exec = {
    .name = "EXEC",
    .nargs = 1,
    .synopsis = "EXEC:command [args]",
    .kind = VC_KIND_CONNECT,
    .check = exec_check,
    .open = exec_open,
};

const struct vc_addr_type vc_type_system = {
    .name = "SYSTEM",
    .nargs = 1,
    .synopsis = "SYSTEM:shell-command",
    .kind = VC_KIND_CONNECT,
    .open = system_open,
};

static void on_reaper(uv_timer_t *t)
{
    (void)t;
    for (struct child *c = live_children; c; c = c->next) {
        vc_log(1, "ending child %d (SIGTERM)", c->proc.pid);
        uv_process_kill(&c->proc, SIGTERM);
    }
}

void vc_children_end_after(uv_loop_t *loop, double seconds)
{
    if (!live_children || reaper)
        return;
    reaper = malloc(sizeof(*reaper));
    if (!reaper)
        return;
    uv_timer_init(loop, reaper);
    uv_timer_start(reaper, on_reaper, (uint64_t)(seconds * 1000.0), 0);
}
