/* log.c: vsockcat's stderr lines once it runs: errors always, -d diagnostics by level,
 * prefixed "vsockcat: " by cli_diag.c as the command-line errors are (dump.c writes the
 * -v/-x traces itself). */
#include "config.h"

#include <stdarg.h>

#include "cli_diag.h"
#include "log.h"

int vc_log_level;

void vc_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (vc_log_level < level)
        return;
    va_start(ap, fmt);
    cli_verror(fmt, ap);
    va_end(ap);
}

void vc_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cli_verror(fmt, ap);
    va_end(ap);
}
