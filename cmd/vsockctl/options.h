/* options.h: vsockctl's global options (--transport, --help, --version), before the
 * command: one table drives getopt and the Options part of `help`. */
#ifndef VSOCKCTL_OPTIONS_H
#define VSOCKCTL_OPTIONS_H

#include <stdio.h>

#include "commands.h"

/* Parses the options before the command into ctx. --help and --version stand for the
 * commands help and version: "vsockctl --help info" is "vsockctl help info". Returns the
 * index in argv of the command (argc: none), or -1 when vsockctl ends now with *status
 * (a usage error). */
int ctl_parse_options(struct ctl_context *ctx, int argc, char **argv, int *status);

/* The options' lines of `help`. */
void ctl_print_options(FILE *f);

#endif
