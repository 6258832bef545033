/* cli_num.c: strict parsing of the numbers users type (cli_num.h). Digits are read by
 * hand, not by strtoul, which would take a sign, leading blanks and the locale's ideas. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "cli_num.h"

/* The value of c as a digit of base, or -1. */
static int digit_value(char c, unsigned base)
{
    int v;

    if (c >= '0' && c <= '9')
        v = c - '0';
    else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
    else
        return -1;
    return (unsigned)v < base ? v : -1;
}

/* The base the flags and the text's prefix ask for; *text moves past a "0x". */
static unsigned number_base(const char **text, unsigned flags)
{
    const char *t = *text;

    if (flags & CLI_NUM_OCTAL)
        return 8;
    if (!(flags & CLI_NUM_PREFIX) || t[0] != '0')
        return 10;
    if ((t[1] == 'x' || t[1] == 'X') && digit_value(t[2], 16) >= 0) {
        *text = t + 2;
        return 16;
    }
    return t[1] != '\0' ? 8 : 10;
}

/* The power of two a size suffix stands for, or -1. */
static int suffix_shift(char c)
{
    switch (c) {
    case 'k': case 'K':
        return 10;
    case 'm': case 'M':
        return 20;
    case 'g': case 'G':
        return 30;
    default:
        return -1;
    }
}

int cli_parse_uint(const char *text, uint64_t min, uint64_t max, unsigned flags, uint64_t *out)
{
    unsigned base;
    uint64_t v = 0;
    int d, shift = 0, too_big = 0;

    if (text == NULL)
        return -EINVAL;
    base = number_base(&text, flags);
    if (digit_value(*text, base) < 0)
        return -EINVAL;
    for (; (d = digit_value(*text, base)) >= 0; text++) {
        if (v > (UINT64_MAX - (unsigned)d) / base)
            too_big = 1;
        v = v * base + (unsigned)d;
    }
    if (*text != '\0' && (flags & CLI_NUM_SIZE)) {
        shift = suffix_shift(*text++);
        if (shift < 0)
            return -EINVAL;
    }
    if (*text != '\0')
        return -EINVAL;
    if (too_big || v > (UINT64_MAX >> shift))
        return -ERANGE;
    v <<= shift;
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int cli_parse_seconds(const char *text, double min, double max, double *out)
{
    const char *p = text;
    size_t digits = 0;
    double v;

    if (text == NULL)
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++;
    if (digits == 0 || *p != '\0')
        return -EINVAL;
    v = strtod(text, NULL);   /* the shape is checked: only the value is left */
    if (!isfinite(v) || v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}
