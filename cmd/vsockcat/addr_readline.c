/* addr_readline.c: READLINE[,history=FILE][,prompt=STR]: lines typed on the terminal
 * (GNU readline, with editing and history) go to the peer, one "\n"-terminated line at a
 * time; the peer's data is printed above the prompt. EOF (Ctrl-D) half-closes. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "addrtypes.h"
#include "open.h"

struct rl_state {
    char *pending;         /* typed lines not yet read by the relay */
    size_t len, off;
    bool eof;
    char *history;
};

static struct rl_state *active;   /* readline has one global state; so do we */

static void on_line(char *line)
{
    struct rl_state *st = active;
    size_t n;
    char *grown;

    if (!st)
        return;
    if (!line) {
        st->eof = true;
        rl_callback_handler_remove();
        return;
    }
    if (*line) {
        add_history(line);
        if (st->history && append_history(1, st->history) != 0)
            (void)write_history(st->history);
    }
    n = strlen(line);
    grown = realloc(st->pending, st->len + n + 1);
    if (grown) {
        st->pending = grown;
        memcpy(st->pending + st->len, line, n);
        st->pending[st->len + n] = '\n';
        st->len += n + 1;
    }
    free(line);
}

static ssize_t rl_end_read(struct vc_end *e, void *buf, size_t len)
{
    struct rl_state *st = e->priv;
    size_t n;

    if (st->off == st->len && !st->eof)
        rl_callback_read_char();
    if (st->off < st->len) {
        n = st->len - st->off < len ? st->len - st->off : len;
        memcpy(buf, st->pending + st->off, n);
        st->off += n;
        if (st->off == st->len)
            st->off = st->len = 0;
        return (ssize_t)n;
    }
    return st->eof ? 0 : -EAGAIN;
}

static ssize_t rl_end_write(struct vc_end *e, const void *buf, size_t len)
{
    struct rl_state *st = e->priv;
    ssize_t n;
    char *saved = NULL;
    int point = 0;

    /* Take the prompt and the half-typed line off the screen, print, put them back. */
    if (!st->eof) {
        saved = rl_copy_text(0, rl_end);
        point = rl_point;
        rl_save_prompt();
        rl_replace_line("", 0);
        rl_redisplay();
    }
    n = vc_fd_write(e, buf, len);
    if (!st->eof) {
        rl_restore_prompt();
        if (n > 0 && ((const char *)buf)[n - 1] != '\n')
            (void)!write(e->wfd, "\n", 1);
        rl_replace_line(saved ? saved : "", 0);
        rl_point = point;
        rl_on_new_line();
        rl_redisplay();
        free(saved);
    }
    return n;
}

static int rl_end_shutdown(struct vc_end *e)
{
    (void)e;
    return 0;   /* the terminal stays ours; the peer's EOF just ends its output */
}

static void rl_end_release(struct vc_end *e)
{
    struct rl_state *st = e->priv;

    if (!st->eof)
        rl_callback_handler_remove();
    if (active == st)
        active = NULL;
    free(st->pending);
    free(st->history);
    free(st);
}

void vc_readline_restore_terminal(void)
{
    if (active && !active->eof)
        rl_callback_handler_remove();   /* undoes rl_prep_terminal() */
}

static const struct vc_end_ops rl_end_ops = {
    .read = rl_end_read,
    .write = rl_end_write,
    .shutdown_write = rl_end_shutdown,
    .release = rl_end_release,
};

static void readline_open(struct vc_open_req *req)
{
    const struct vc_addr_spec *spec = req->spec;
    struct rl_state *st;
    struct vc_end *e;

    if (active) {
        vc_open_done(req, NULL, -EBUSY, "readline");
        return;
    }
    st = calloc(1, sizeof(*st));
    if (!st) {
        vc_open_done(req, NULL, -ENOMEM, "readline");
        return;
    }
    if (spec->o.history) {
        st->history = strdup(spec->o.history);
        using_history();
        (void)read_history(st->history);   /* a missing file is a new history */
    }
    e = vc_end_new(&rl_end_ops, STDIN_FILENO, STDOUT_FILENO, st, spec->text);
    if (!e) {
        free(st->history);
        free(st);
        vc_open_done(req, NULL, -ENOMEM, "readline");
        return;
    }
    active = st;
    rl_readline_name = "vsockcat";
    rl_callback_handler_install(spec->o.prompt ? spec->o.prompt : "", on_line);
    vc_open_done(req, e, 0, NULL);
}

const struct vc_addr_type vc_type_readline = {
    .name = "READLINE",
    .nargs = 0,
    .synopsis = "READLINE",
    .kind = VC_KIND_LOCAL,
    .opts = VC_OPT_HISTORY | VC_OPT_PROMPT,
    .open = readline_open,
};
