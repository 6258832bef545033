/* addr_child.c: EXEC:cmd (argv split here, no shell) and SYSTEM:cmd (/bin/sh -c). The
 * child's stdin and stdout are one end of a socketpair, so half-close reaches it as EOF
 * and its exit reaches us as EOF. Each child belongs to its relay end: when that relay is
 * over, the child gets max(-t, 0.5) s to exit, then SIGTERM, so a fork server never
 * accumulates children that ignore EOF. */
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

/* Freed when its process handle and grace timer are closed and its end is released. */
struct child {
    uv_process_t proc;
    uv_timer_t grace;
    bool exited, proc_closed, grace_closed, end_released;
    struct child *next;        /* live_children, while running */
};

static struct child *live_children;

static void maybe_free(struct child *c)
{
    if (c->proc_closed && c->grace_closed && c->end_released)
        free(c);
}

static void on_proc_closed(uv_handle_t *h)
{
    struct child *c = h->data;

    c->proc_closed = true;
    maybe_free(c);
}

static void on_grace_closed(uv_handle_t *h)
{
    struct child *c = h->data;

    c->grace_closed = true;
    maybe_free(c);
}

static void unlink_child(struct child *c)
{
    for (struct child **pp = &live_children; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            return;
        }
}

static void on_child_exit(uv_process_t *p, int64_t status, int signo)
{
    struct child *c = p->data;

    if (signo)
        vc_log(1, "child %d killed by signal %d", p->pid, signo);
    else
        vc_log(1, "child %d exited with status %lld", p->pid, (long long)status);
    c->exited = true;
    unlink_child(c);
    uv_close((uv_handle_t *)&c->proc, on_proc_closed);
    uv_close((uv_handle_t *)&c->grace, on_grace_closed);
}

static void on_grace_over(uv_timer_t *t)
{
    struct child *c = t->data;

    if (!c->exited) {
        vc_log(1, "child %d still running after its relay ended: SIGTERM", c->proc.pid);
        uv_process_kill(&c->proc, SIGTERM);
    }
}

/* The relay is done with the child's socket. */
static void child_end_release(struct vc_end *e)
{
    struct child *c = e->priv;
    double wait = vc_opts->half_close_wait > 0.5 ? vc_opts->half_close_wait : 0.5;

    vc_fd_release(e);
    c->end_released = true;
    if (!c->exited)
        uv_timer_start(&c->grace, on_grace_over, (uint64_t)(wait * 1000.0), 0);
    maybe_free(c);
}

static const struct vc_end_ops child_end_ops = {
    .read = vc_fd_read,
    .write = vc_fd_write,
    .shutdown_write = vc_fd_shutdown_write,
    .release = child_end_release,
};

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
    uv_timer_init(req->loop, &c->grace);
    c->grace.data = c;
    c->proc.data = c;
    rc = uv_spawn(req->loop, &c->proc, &po);
    close(sv[1]);
    if (rc < 0) {
        /* Nothing runs: close the handles; the child frees itself when they are. */
        c->exited = c->end_released = true;
        uv_close((uv_handle_t *)&c->proc, on_proc_closed);
        uv_close((uv_handle_t *)&c->grace, on_grace_closed);
        close(sv[0]);
        vc_open_done(req, NULL, rc, "exec");
        return;
    }
    c->next = live_children;
    live_children = c;
    vc_log(1, "%s: started child %d", req->spec->text, c->proc.pid);
    e = vc_end_new(&child_end_ops, sv[0], sv[0], c, req->spec->text);
    if (!e) {
        /* The child sees EOF and, if it lingers, SIGTERM after the grace time. */
        close(sv[0]);
        c->end_released = true;
        uv_timer_start(&c->grace, on_grace_over, 0, 0);
        vc_open_done(req, NULL, -ENOMEM, "spawn");
        return;
    }
    e->flags = VC_END_OWN_FDS | VC_END_SOCKET | VC_END_CONNECTION;
    vc_fd_nonblock(sv[0]);
    vc_open_done(req, e, 0, NULL);
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

void vc_children_signal(int signo)
{
    for (struct child *c = live_children; c; c = c->next)
        (void)kill(c->proc.pid, signo);
}
