/* output.c: prints key/value records as a human table or one JSON object (see output.h).
 * Knows nothing of vsock: the command handlers collect the fields. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "output.h"

void out_fields_add(struct out_fields *f, const char *key, const char *value)
{
    char *k, *v;

    if (f->count == f->capacity) {
        size_t cap = f->capacity ? f->capacity * 2 : 8;
        struct out_field *items = realloc(f->items, cap * sizeof(*items));

        if (items == NULL) {
            f->failed = 1;
            return;
        }
        f->items = items;
        f->capacity = cap;
    }
    k = strdup(key);
    v = strdup(value != NULL ? value : "");
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        f->failed = 1;
        return;
    }
    f->items[f->count].key = k;
    f->items[f->count].value = v;
    f->count++;
}

void out_fields_free(struct out_fields *f)
{
    for (size_t i = 0; i < f->count; i++) {
        free(f->items[i].key);
        free(f->items[i].value);
    }
    free(f->items);
    memset(f, 0, sizeof(*f));
}

void out_print_table(FILE *out, const struct out_fields *f)
{
    size_t width = 0;

    for (size_t i = 0; i < f->count; i++) {
        size_t n = strlen(f->items[i].key);
        if (n > width)
            width = n;
    }
    for (size_t i = 0; i < f->count; i++) {
        const unsigned char *p = (const unsigned char *)f->items[i].value;

        fprintf(out, "%s:%*s", f->items[i].key,
                (int)(width - strlen(f->items[i].key) + 1), "");
        for (; *p != '\0'; p++)
            putc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
        putc('\n', out);
    }
}

void out_print_json(FILE *out, const struct out_fields *f)
{
    putc('{', out);
    for (size_t i = 0; i < f->count; i++) {
        if (i > 0)
            fputs(", ", out);
        out_json_string(out, f->items[i].key);
        fputs(": ", out);
        out_json_string(out, f->items[i].value);
    }
    fputs("}\n", out);
}

/* Length of the well-formed UTF-8 sequence starting at p (2 to 4, RFC 3629 table 3-7),
 * or 0 if the bytes there do not form one. The string is NUL-terminated and NUL is not a
 * continuation byte, so the checks never read past its end. */
static size_t utf8_sequence_length(const unsigned char *p)
{
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n;

    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0; /* ASCII, continuation byte, or C0/C1/F5..FF (never valid) */

    /* The second byte's range excludes overlong forms, surrogates and > U+10FFFF. */
    if (p[0] == 0xe0)
        lo = 0xa0;
    else if (p[0] == 0xed)
        hi = 0x9f;
    else if (p[0] == 0xf0)
        lo = 0x90;
    else if (p[0] == 0xf4)
        hi = 0x8f;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* The characters JSON escapes with a backslash and a letter (RFC 8259, section 7). */
static const char *const json_escapes[] = {
    ['"'] = "\\\"", ['\\'] = "\\\\", ['\b'] = "\\b", ['\f'] = "\\f",
    ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t",
};

void out_json_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    putc('"', out);
    while (*p != '\0') {
        unsigned char c = *p;
        size_t n;

        if (c < sizeof(json_escapes) / sizeof(json_escapes[0]) && json_escapes[c] != NULL) {
            fputs(json_escapes[c], out);
        } else if (c < 0x20) {
            fprintf(out, "\\u%04x", c);
        } else if (c < 0x80) {
            putc(c, out);
        } else if ((n = utf8_sequence_length(p)) != 0) {
            fwrite(p, 1, n, out);
            p += n;
            continue;
        } else {
            fputs("\\ufffd", out);
        }
        p++;
    }
    putc('"', out);
}
