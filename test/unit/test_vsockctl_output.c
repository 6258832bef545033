/* test_vsockctl_output.c: vsockctl's emitters (cmd/vsockctl/output.c): the JSON string
 * escaper byte by byte (escapes, UTF-8 passed through, every kind of invalid UTF-8
 * replaced), the JSON object and the aligned table. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "tap.h"

/* The escaper's output for s, in a static buffer. */
static const char *escaped(const char *s)
{
    static char result[256];
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);

    if (out == NULL)
        return "(open_memstream failed)";
    out_json_string(out, s);
    fclose(out);
    snprintf(result, sizeof(result), "%s", text);
    free(text);
    return result;
}

struct escape_case {
    const char *in;
    const char *want;
    const char *what;
};

static const struct escape_case cases[] = {
    {"", "\"\"", "the empty string is \"\""},
    {"kernel", "\"kernel\"", "plain ASCII passes through"},
    {"a\"b", "\"a\\\"b\"", "a quote is escaped"},
    {"a\\b", "\"a\\\\b\"", "a backslash is escaped"},
    {"/dev/vsock", "\"/dev/vsock\"", "'/' is not escaped"},
    {"\n\t\r\b\f", "\"\\n\\t\\r\\b\\f\"", "the five named controls use short escapes"},
    {"\x01\x1f", "\"\\u0001\\u001f\"", "other controls are \\u00XX"},
    {"\x7f", "\"\x7f\"", "DEL needs no escape in JSON"},
    {"caf\xc3\xa9", "\"caf\xc3\xa9\"", "2-byte UTF-8 passes through"},
    {"\xe2\x82\xac", "\"\xe2\x82\xac\"", "3-byte UTF-8 passes through"},
    {"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"", "4-byte UTF-8 passes through"},
    {"\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"", "U+10FFFF passes through"},
    {"\x80", "\"\\ufffd\"", "a lone continuation byte is replaced"},
    {"\xc0\x80", "\"\\ufffd\\ufffd\"", "an overlong NUL is replaced byte by byte"},
    {"\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"", "an overlong 3-byte form is replaced"},
    {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "a UTF-16 surrogate is replaced"},
    {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "beyond U+10FFFF is replaced"},
    {"\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "F5 never starts a sequence"},
    {"\xe2\x82", "\"\\ufffd\\ufffd\"", "a sequence cut by the end of the string is replaced"},
    {"\xe2\x82x", "\"\\ufffd\\ufffdx\"", "a sequence cut by ASCII keeps the ASCII"},
    {"\xff" "ok", "\"\\ufffdok\"", "FF is replaced and the text after it survives"},
};

static void test_escaper(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        TAP_IS_STR(escaped(cases[i].in), cases[i].want, "json string: %s", cases[i].what);
}

static char *render(void (*print)(FILE *, const struct out_fields *), const struct out_fields *f)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);

    if (out == NULL)
        return NULL;
    print(out, f);
    fclose(out);
    return text;
}

static void test_records(void)
{
    struct out_fields f = {0};
    char *text;

    out_fields_add(&f, "transport", "kernel");
    out_fields_add(&f, "local_cid", "3");
    out_fields_add(&f, "why", "a \"quoted\"\nline");
    out_fields_add(&f, "empty", NULL);
    TAP_IS_INT(f.count, 4, "four fields stored");
    TAP_IS_INT(f.failed, 0, "no allocation failed");

    text = render(out_print_json, &f);
    TAP_IS_STR(text,
               "{\"transport\": \"kernel\", \"local_cid\": \"3\", "
               "\"why\": \"a \\\"quoted\\\"\\nline\", \"empty\": \"\"}\n",
               "JSON object: one line, fields in order, values escaped, NULL as \"\"");
    free(text);

    text = render(out_print_table, &f);
    TAP_IS_STR(text,
               "transport: kernel\n"
               "local_cid: 3\n"
               "why:       a \"quoted\"?line\n"
               "empty:     \n",
               "table: values aligned after the longest key, controls shown as '?'");
    free(text);

    out_fields_free(&f);
    TAP_IS_INT(f.count, 0, "free empties the list");
    text = render(out_print_json, &f);
    TAP_IS_STR(text, "{}\n", "an empty record is {}");
    free(text);

    for (int i = 0; i < 100; i++)
        out_fields_add(&f, "k", "v");
    TAP_IS_INT(f.count, 100, "the list grows past its first allocation");
    out_fields_free(&f);
}

int main(void)
{
    test_escaper();
    test_records();
    return tap_done();
}
