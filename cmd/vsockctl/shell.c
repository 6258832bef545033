/* shell.c: reads vsockctl commands from stdin: on a terminal through GNU readline (prompt,
 * history file, tab completion from the command table), otherwise line by line without a
 * prompt. Each line runs through ctl_run_line() exactly as on the command line; a failing
 * command prints its error and the shell goes on. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "cli_diag.h"
#include "shell.h"

#define PROMPT "vsockctl> "
#define HISTORY_FILE ".vsockctl_history"
#define HISTORY_MAX 1000

static int worse(int a, int b)
{
    return a > b ? a : b;
}

/* ---- Script mode: stdin is not a terminal -------------------------------------- */

static int run_script(struct ctl_context *ctx)
{
    char *line = NULL;
    size_t capacity = 0;
    int status = CTL_OK;

    for (;;) {
        errno = 0;
        if (getline(&line, &capacity, stdin) < 0) {
            if (ferror(stdin)) {
                cli_error("stdin: %s", strerror(errno != 0 ? errno : EIO));
                status = worse(status, CTL_FAILED);
            }
            break;
        }
        status = worse(status, ctl_run_line(ctx, line));
        if (ctx->quit)
            break;
    }
    free(line);
    return status;
}

/* ---- Interactive mode: readline in callback mode on a ppoll loop ---------------- */

/* readline's line handler takes no context argument, so the session lives here. */
static struct {
    struct ctl_context *ctx;
    int status;
    int done;
    int handler_installed;
    int added; /* lines added to the history in this session, appended at exit */
} shell;

static volatile sig_atomic_t got_sigint, got_sigwinch, got_sigterm;

static void on_signal(int sig)
{
    if (sig == SIGINT)
        got_sigint = 1;
    else if (sig == SIGWINCH)
        got_sigwinch = 1;
    else
        got_sigterm = 1;
}

/* $VSOCKCTL_HISTORY ("" turns the history file off), else ~/.vsockctl_history. */
static char *history_path(void)
{
    const char *env = getenv("VSOCKCTL_HISTORY");
    const char *home;
    char *path;

    if (env != NULL)
        return env[0] != '\0' ? strdup(env) : NULL;
    home = getenv("HOME");
    if (home == NULL || home[0] == '\0') {
        const struct passwd *pw = getpwuid(getuid());
        home = pw != NULL ? pw->pw_dir : NULL;
    }
    if (home == NULL || asprintf(&path, "%s/" HISTORY_FILE, home) < 0)
        return NULL;
    return path;
}

static void load_history(const char *path)
{
    int rc;

    if (path == NULL)
        return;
    rc = read_history(path);
    if (rc != 0 && rc != ENOENT)
        cli_error("%s: %s", path, strerror(rc));
}

/* Appends this session's lines, so two shells running at once do not overwrite each
 * other's history, then trims the file to HISTORY_MAX lines. */
static int save_history(const char *path)
{
    int added = shell.added, fd, rc;

    if (path == NULL || added <= 0)
        return CTL_OK;
    if (added > history_length)
        added = history_length;
    /* append_history() does not create the file. */
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        cli_error("%s: %s", path, strerror(errno));
        return CTL_FAILED;
    }
    close(fd);
    rc = append_history(added, path);
    if (rc == 0)
        rc = history_truncate_file(path, HISTORY_MAX);
    if (rc != 0) {
        cli_error("%s: %s", path, strerror(rc));
        return CTL_FAILED;
    }
    return CTL_OK;
}

/* Lines are stored without surrounding blanks (completion leaves a trailing space);
 * blank lines and a repeat of the previous line are not added. */
static void remember(const char *line)
{
    const HIST_ENTRY *last;
    size_t start = strspn(line, " \t"), end = strlen(line);
    char *entry;

    while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    if (end == start)
        return;
    entry = strndup(line + start, end - start);
    if (entry == NULL)
        return;
    last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (last == NULL || strcmp(last->line, entry) != 0) {
        add_history(entry);
        shell.added++;
    }
    free(entry);
}

static void stop_reading(void)
{
    shell.done = 1;
    if (shell.handler_installed) {
        rl_callback_handler_remove();
        shell.handler_installed = 0;
    }
}

static void on_line(char *line)
{
    if (line == NULL) { /* Ctrl-D on an empty line, or the terminal went away */
        putchar('\n');
        stop_reading();
        return;
    }
    remember(line);
    shell.status = worse(shell.status, ctl_run_line(shell.ctx, line));
    free(line);
    if (shell.ctx->quit)
        stop_reading();
}

/* ---- Completion: command names first, then the command's options or arguments ---- */

static const struct ctl_command *completing;
static size_t completion_state;

static char *command_generator(const char *text, int state)
{
    const char *name;

    if (state == 0)
        completion_state = 0;
    name = ctl_complete_command(text, &completion_state);
    return name != NULL ? strdup(name) : NULL;
}

static char *argument_generator(const char *text, int state)
{
    const char *word;

    if (state == 0)
        completion_state = 0;
    word = ctl_complete_argument(completing, text, &completion_state);
    return word != NULL ? strdup(word) : NULL;
}

static char **complete(const char *text, int start, int end)
{
    size_t first = strspn(rl_line_buffer, " \t"), len;
    char name[64];

    (void)end;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    if ((size_t)start <= first)
        return rl_completion_matches(text, command_generator);
    len = strcspn(rl_line_buffer + first, " \t");
    if (len >= sizeof(name))
        return NULL;
    memcpy(name, rl_line_buffer + first, len);
    name[len] = '\0';
    completing = ctl_command_find(name);
    if (completing == NULL)
        return NULL;
    return rl_completion_matches(text, argument_generator);
}

/* Ctrl-C drops the line being edited and shows a fresh prompt, as in sh. */
static void discard_line(void)
{
    rl_free_line_state();
    rl_callback_sigcleanup();
    rl_echo_signal_char(SIGINT);
    rl_replace_line("", 0);
    rl_point = rl_mark = 0;
    rl_crlf();
    rl_on_new_line();
    rl_redisplay();
}

/* The signals are blocked except inside ppoll(), so a handler only sets a flag that the
 * loop acts on between readline calls, never in the middle of one. */
static int run_interactive(struct ctl_context *ctx)
{
    static const int signals[] = {SIGINT, SIGWINCH, SIGHUP, SIGTERM};
    struct sigaction sa;
    sigset_t blocked, wait_mask;
    char *path = history_path();

    shell.ctx = ctx;
    shell.status = CTL_OK;
    rl_readline_name = "vsockctl";
    rl_attempted_completion_function = complete;
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    using_history();
    stifle_history(HISTORY_MAX);
    load_history(path);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&blocked);
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
        sigaddset(&blocked, signals[i]);
        sigaction(signals[i], &sa, NULL);
    }
    sigprocmask(SIG_BLOCK, &blocked, &wait_mask);
    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        sigdelset(&wait_mask, signals[i]);

    rl_callback_handler_install(PROMPT, on_line);
    shell.handler_installed = 1;
    while (!shell.done) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = ppoll(&pfd, 1, NULL, &wait_mask);

        if (n < 0 && errno != EINTR) {
            cli_error("stdin: %s", strerror(errno));
            shell.status = worse(shell.status, CTL_FAILED);
            break;
        }
        if (got_sigterm) { /* SIGHUP/SIGTERM: keep the history, then leave */
            putchar('\n');
            break;
        }
        if (got_sigwinch) {
            got_sigwinch = 0;
            rl_resize_terminal();
        }
        if (got_sigint) {
            got_sigint = 0;
            discard_line();
        }
        if (n > 0) {
            if (pfd.revents & POLLIN)
                rl_callback_read_char();
            else /* POLLHUP/POLLERR with nothing to read: the terminal is gone */
                break;
        }
    }
    stop_reading();
    shell.status = worse(shell.status, save_history(path));
    clear_history();
    free(path);
    fflush(stdout);
    return shell.status;
}

int shell_main(struct ctl_context *ctx)
{
    ctx->in_shell = 1;
    if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
        return run_interactive(ctx);
    return run_script(ctx);
}
