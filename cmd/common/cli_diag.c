/* cli_diag.c: "prog: what: why" lines on stderr (cli_diag.h). Each line is formatted
 * first and written once: forked children and the parent share one stderr. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_diag.h"

static const char *program;
static const char *hint;

void cli_diag_init(const char *name, const char *usage_hint)
{
    program = name;
    hint = usage_hint;
}

const char *cli_program_name(void)
{
    return program != NULL ? program : program_invocation_short_name;
}

/* Writes "prog: <fmt...><tail>\n"; a message too long for the line is cut. */
__attribute__((format(printf, 2, 0)))
static void emit(const char *tail, const char *fmt, va_list ap)
{
    char line[1024];
    int n;

    n = snprintf(line, sizeof(line), "%s: ", cli_program_name());
    if (n >= 0 && (size_t)n < sizeof(line))
        vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    fflush(stdout);
    fprintf(stderr, "%s%s\n", line, tail != NULL ? tail : "");
}

void cli_verror(const char *fmt, va_list ap)
{
    emit(NULL, fmt, ap);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(NULL, fmt, ap);
    va_end(ap);
}

void cli_error_errno(int err, const char *fmt, ...)
{
    char tail[256];
    va_list ap;

    snprintf(tail, sizeof(tail), ": %s", strerror(err < 0 ? -err : err));
    va_start(ap, fmt);
    emit(tail, fmt, ap);
    va_end(ap);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(hint, fmt, ap);
    va_end(ap);
    return CLI_EXIT_USAGE;
}
