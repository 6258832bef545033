/* cli_num.h: the programs' one strict parser for numbers typed by a user: whole numbers
 * (decimal, octal or with a base prefix, optionally with a k/M/G size suffix) and seconds
 * with fractions. No sign, blank, or trailing text is ever accepted. No I/O. */
#ifndef CLI_NUM_H
#define CLI_NUM_H

#include <stdint.h>

/* What a whole number may look like: decimal digits unless a flag says otherwise. */
enum cli_num_flags {
    CLI_NUM_OCTAL = 1u << 0,   /* octal digits (a file mode: 600 or 0600) */
    CLI_NUM_PREFIX = 1u << 1,  /* 0x1f hexadecimal, 017 octal, else decimal */
    CLI_NUM_SIZE = 1u << 2,    /* one suffix k, M or G (either case): times 2^10, 2^20, 2^30 */
};

/* Parses text as a whole number within [min, max]. Returns 0 and sets *out, -EINVAL when
 * text is not a number of that form, or -ERANGE when it lies outside the range (or does
 * not fit 64 bits). *out is left alone on error. */
int cli_parse_uint(const char *text, uint64_t min, uint64_t max, unsigned flags, uint64_t *out);

/* Parses text as seconds, "2", "0.5" or ".25" (digits and one decimal point, as -t takes)
 * within [min, max]. Returns 0, -EINVAL or -ERANGE as cli_parse_uint does. */
int cli_parse_seconds(const char *text, double min, double max, double *out);

#endif
