/* output.h: key/value records printed as an aligned human table or one JSON object.
 * Formatting only: no transport calls here, so it is unit-testable on any stream. */
#ifndef VSOCKCTL_OUTPUT_H
#define VSOCKCTL_OUTPUT_H

#include <stdio.h>

struct out_field {
    char *key;
    char *value;
};

/* A growing list of fields in insertion order. Zero-initialise before use. */
struct out_fields {
    struct out_field *items;
    size_t count;
    size_t capacity;
    int failed; /* an allocation failed: some fields are missing */
};

/* Copies key and value (NULL is stored as ""); on allocation failure sets failed. */
void out_fields_add(struct out_fields *f, const char *key, const char *value);
void out_fields_free(struct out_fields *f);

/* "key:  value" lines, values aligned one column after the longest key. Control
 * characters in values are shown as '?' so one field stays one line. */
void out_print_table(FILE *out, const struct out_fields *f);

/* One line: {"key": "value", ...} and a newline. */
void out_print_json(FILE *out, const struct out_fields *f);

/* Writes s as a JSON string with its quotes: '"' and '\\' escaped, control characters
 * as \n, \t, ... or \u00XX, valid UTF-8 passed through, each byte of an invalid UTF-8
 * sequence (overlong, surrogate, truncated, > U+10FFFF) as \ufffd, so the output is
 * always valid JSON whatever bytes the transport reported. */
void out_json_string(FILE *out, const char *s);

#endif
