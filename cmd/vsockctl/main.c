/* main.c: vsockctl's entry point. Parses the global options, then runs the one command
 * given on the command line or, without one, the shell (shell.c). The commands
 * themselves live in commands.c. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "shell.h"

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"transport", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static char help_word[] = "help", version_word[] = "version";
    struct ctl_context ctx = {0};
    char *implied = NULL; /* --help and --version stand for a command */
    int c;

    opterr = 0; /* errors are reported below, in one line of our own format */
    /* '+': options end at the command name, whose own options are its business. */
    while ((c = getopt_long(argc, argv, "+:h", long_options, NULL)) != -1) {
        switch (c) {
        case 't':
            ctx.transport_spec = optarg;
            break;
        case 'h':
            implied = help_word;
            break;
        case 'V':
            implied = version_word;
            break;
        case ':':
            ctl_error("%s: needs a value", argv[optind - 1]);
            return CTL_USAGE;
        default:
            if (optopt != 0)
                ctl_error("-%c: unknown option (try 'vsockctl help')", optopt);
            else
                ctl_error("%s: unknown option (try 'vsockctl help')", argv[optind - 1]);
            return CTL_USAGE;
        }
    }
    if (implied != NULL) {
        /* "vsockctl --help info" is "vsockctl help info"; argv[optind - 1] was the
         * option and is free to hold the command name. */
        argv[--optind] = implied;
        return ctl_run(&ctx, argc - optind, argv + optind);
    }
    if (optind < argc)
        return ctl_run(&ctx, argc - optind, argv + optind);
    return shell_main(&ctx);
}
