/* shell.h: vsockctl without a command: an interactive GNU readline shell when stdin and
 * stdout are a terminal, otherwise a script of commands read line by line from stdin. */
#ifndef VSOCKCTL_SHELL_H
#define VSOCKCTL_SHELL_H

#include "commands.h"

/* Runs commands until quit/exit or end of input; returns the highest exit status any
 * command returned (CTL_OK if all succeeded). */
int shell_main(struct ctl_context *ctx);

#endif
