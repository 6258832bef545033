/* fuzz_spec.c: vsockcat's address-spec parser (cmd/vsockcat/spec.c) with the real type
 * table (addrtypes.c) and every type's check(), on arbitrary text; plus the EXEC word
 * splitter and cmd/common's number parser (-t, -b, option values). Parsing only:
 * nothing is opened. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "addrtypes.h"
#include "cli_num.h"
#include "fuzz.h"
#include "spec.h"

/* What the address types expect main.c to provide; never used when parsing. */
static const struct vc_opts fuzz_opts = {.only_dir = -1, .half_close_wait = 0.5, .bufsize = 4096};
const struct vc_opts *vc_opts = &fuzz_opts;

struct vsock_transport *vc_transport(void)
{
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), err[256];
    struct vc_addr_spec spec;
    char **words;
    double secs;
    uint64_t number;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    memset(err, 0, sizeof(err));
    if (vc_spec_parse(text, &spec, err, sizeof(err)) == 0) {
        /* A parsed spec names a known type and keeps the text for messages. */
        if (spec.type == NULL || spec.text == NULL ||
            vc_addr_type_find(spec.type->name) != spec.type)
            abort();
        for (int i = 0; i < VC_MAX_ARGS; i++)
            if (i >= spec.type->nargs && spec.args[i] != NULL)
                abort();
        vc_spec_free(&spec);
    } else if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL) {
        abort(); /* a refusal always says why, NUL-terminated */
    }

    words = vc_split_words(text, err, sizeof(err));
    free(words);
    (void)cli_parse_seconds(text, 0, 1e6, &secs);
    (void)cli_parse_uint(text, 0, UINT64_MAX, CLI_NUM_SIZE | CLI_NUM_PREFIX, &number);
    free(text);
    return 0;
}
