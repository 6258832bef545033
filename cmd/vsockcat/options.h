/* options.h: vsockcat's global options (-u, -t, --transport, ...): one table drives
 * getopt, --help and the man-page check. The addresses are spec.c's. */
#ifndef VC_OPTIONS_H
#define VC_OPTIONS_H

/* Parses the options into vc_opts. Returns the index in argv of the first address, or
 * -1 when vsockcat ends now with *status (after --help, --version or a usage error). */
int vc_options_parse(int argc, char **argv, int *status);

#endif
