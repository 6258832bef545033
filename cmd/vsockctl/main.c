/* main.c: vsockctl's entry point. Parses the global options (options.c), then runs the
 * one command given on the command line or, without one, the shell (shell.c). The
 * commands themselves live in commands.c. */
#include "config.h"

#include "commands.h"
#include "options.h"
#include "shell.h"

int main(int argc, char **argv)
{
    struct ctl_context ctx = {0};
    int status, command = ctl_parse_options(&ctx, argc, argv, &status);

    if (command < 0)
        return status;
    if (command < argc)
        return ctl_run(&ctx, argc - command, argv + command);
    return shell_main(&ctx);
}
