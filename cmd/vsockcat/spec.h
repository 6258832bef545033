/* spec.h: parses socat-style address text ("TYPE:arg:arg,opt,opt=value") into a
 * vc_addr_spec, generically from the address-type and option tables. No I/O. */
#ifndef VC_SPEC_H
#define VC_SPEC_H

#include <stddef.h>

#include "vsockcat.h"

/* Parses text. Returns 0, or -1 with a one-line reason in err (the caller prefixes the
 * program name and the address). */
int vc_spec_parse(const char *text, struct vc_addr_spec *spec, char *err, size_t errsize);
void vc_spec_free(struct vc_addr_spec *spec);

/* Splits a command line into argv words: whitespace separates, '...' and "..." group,
 * backslash escapes (no shell). Returns a NULL-terminated malloc'd vector (one block,
 * free() it), or NULL with a reason in err. */
char **vc_split_words(const char *text, char *err, size_t errsize);

/* For --help: the option names and the address synopses. */
void vc_spec_print_help(void *stream);

#endif
