/* cli_diag.h: the programs' messages on stderr, one line each, "prog: what: why".
 * Usage errors end with the program's hint ("see vsockcat --help") and exit status 2.
 * A parser that leaves the context to its caller writes its reason with snprintf into
 * the caller's (why, size) buffer instead. */
#ifndef CLI_DIAG_H
#define CLI_DIAG_H

#include <stdarg.h>

/* Exit statuses every program documents: done, a runtime failure, a usage error. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

/* Names the program in every message (default: the name it was run as), and sets what
 * usage errors end with, e.g. " (see vsockcat --help)", or NULL for nothing. */
void cli_diag_init(const char *program, const char *usage_hint);
const char *cli_program_name(void);

/* Prints "prog: " and the message as one line on stderr, in one write so the lines of
 * processes sharing stderr do not mix. stdout is flushed first, to keep the two in order
 * on a terminal. */
__attribute__((format(printf, 1, 2))) void cli_error(const char *fmt, ...);
__attribute__((format(printf, 1, 0))) void cli_verror(const char *fmt, va_list ap);

/* As cli_error, with ": " and the text of errno value err (either sign) at the end. */
__attribute__((format(printf, 2, 3))) void cli_error_errno(int err, const char *fmt, ...);

/* As cli_error, with the usage hint at the end. Returns CLI_EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) int cli_usage_error(const char *fmt, ...);

#endif
