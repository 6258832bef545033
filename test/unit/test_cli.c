/* test_cli.c: the programs' shared helpers (cmd/common): the strict number parser at its
 * boundaries and on garbage, and the option table: what each kind stores, every usage
 * error's one line, --help's layout and socat-style single-dash names. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_diag.h"
#include "cli_num.h"
#include "cli_opt.h"
#include "tap.h"

/* ---- whole numbers */

/* cli_parse_uint's result, with *out checked untouched on error. */
static int uint_rc(const char *text, uint64_t min, uint64_t max, unsigned flags, uint64_t *v)
{
    uint64_t out = 12345;
    int rc = cli_parse_uint(text, min, max, flags, &out);

    if (rc < 0 && out != 12345)
        return 99;   /* an error must not store */
    *v = out;
    return rc;
}

static void test_uint_decimal(void)
{
    uint64_t v;

    TAP_IS_INT(uint_rc("0", 0, 10, 0, &v), 0, "0 parses");
    TAP_IS_INT(v, 0, "0 is 0");
    TAP_IS_INT(uint_rc("65535", 0, 65535, 0, &v), 0, "the maximum itself parses");
    TAP_IS_INT(uint_rc("65536", 0, 65535, 0, &v), -ERANGE, "one over the maximum: ERANGE");
    TAP_IS_INT(uint_rc("3", 3, 9, 0, &v), 0, "the minimum itself parses");
    TAP_IS_INT(uint_rc("2", 3, 9, 0, &v), -ERANGE, "one under the minimum: ERANGE");
    TAP_IS_INT(uint_rc("007", 0, 10, 0, &v), 0, "leading zeros are decimal");
    TAP_IS_INT(v, 7, "007 is 7");
    TAP_IS_INT(uint_rc("18446744073709551615", 0, UINT64_MAX, 0, &v), 0, "2^64-1 parses");
    TAP_IS_INT(v == UINT64_MAX, 1, "2^64-1 is UINT64_MAX");
    TAP_IS_INT(uint_rc("18446744073709551616", 0, UINT64_MAX, 0, &v), -ERANGE,
               "2^64 does not fit: ERANGE");
    TAP_IS_INT(uint_rc("99999999999999999999999", 0, UINT64_MAX, 0, &v), -ERANGE,
               "far over 64 bits: ERANGE");
    TAP_IS_INT(uint_rc(NULL, 0, 10, 0, &v), -EINVAL, "NULL: EINVAL");
    TAP_IS_INT(uint_rc("", 0, 10, 0, &v), -EINVAL, "empty: EINVAL");
    TAP_IS_INT(uint_rc(" 1", 0, 10, 0, &v), -EINVAL, "a leading blank: EINVAL");
    TAP_IS_INT(uint_rc("1 ", 0, 10, 0, &v), -EINVAL, "a trailing blank: EINVAL");
    TAP_IS_INT(uint_rc("+1", 0, 10, 0, &v), -EINVAL, "a plus sign: EINVAL");
    TAP_IS_INT(uint_rc("-1", 0, 10, 0, &v), -EINVAL, "a minus sign: EINVAL");
    TAP_IS_INT(uint_rc("-0", 0, 10, 0, &v), -EINVAL, "-0: EINVAL");
    TAP_IS_INT(uint_rc("1x", 0, 10, 0, &v), -EINVAL, "trailing garbage: EINVAL");
    TAP_IS_INT(uint_rc("1k", 0, 10000, 0, &v), -EINVAL, "a suffix without CLI_NUM_SIZE");
    TAP_IS_INT(uint_rc("0x10", 0, 100, 0, &v), -EINVAL, "hex without CLI_NUM_PREFIX");
    TAP_IS_INT(uint_rc("1e3", 0, 10000, 0, &v), -EINVAL, "an exponent: EINVAL");
    TAP_IS_INT(uint_rc("1.0", 0, 10, 0, &v), -EINVAL, "a fraction: EINVAL");
    TAP_IS_INT(uint_rc("\xff", 0, 10, 0, &v), -EINVAL, "a high byte: EINVAL");
}

static void test_uint_bases(void)
{
    uint64_t v;

    TAP_IS_INT(uint_rc("0x10", 0, 100, CLI_NUM_PREFIX, &v), 0, "0x10 parses with a prefix");
    TAP_IS_INT(v, 16, "0x10 is 16");
    TAP_IS_INT(uint_rc("0X1f", 0, 100, CLI_NUM_PREFIX, &v), 0, "0X1f parses");
    TAP_IS_INT(v, 31, "0X1f is 31");
    TAP_IS_INT(uint_rc("017", 0, 100, CLI_NUM_PREFIX, &v), 0, "017 parses");
    TAP_IS_INT(v, 15, "017 is octal 15");
    TAP_IS_INT(uint_rc("0", 0, 100, CLI_NUM_PREFIX, &v), 0, "a lone 0 parses");
    TAP_IS_INT(v, 0, "a lone 0 is 0");
    TAP_IS_INT(uint_rc("17", 0, 100, CLI_NUM_PREFIX, &v), 0, "17 parses");
    TAP_IS_INT(v, 17, "no prefix: decimal");
    TAP_IS_INT(uint_rc("08", 0, 100, CLI_NUM_PREFIX, &v), -EINVAL, "08 is bad octal");
    TAP_IS_INT(uint_rc("0x", 0, 100, CLI_NUM_PREFIX, &v), -EINVAL, "0x without digits");
    TAP_IS_INT(uint_rc("0xg", 0, 100, CLI_NUM_PREFIX, &v), -EINVAL, "0xg is no number");
    TAP_IS_INT(uint_rc("0xffffffffffffffff", 0, UINT64_MAX, CLI_NUM_PREFIX, &v), 0,
               "0xffffffffffffffff parses");
    TAP_IS_INT(uint_rc("0x10000000000000000", 0, UINT64_MAX, CLI_NUM_PREFIX, &v), -ERANGE,
               "0x1 followed by 16 zeros does not fit");
    TAP_IS_INT(uint_rc("600", 0, 07777, CLI_NUM_OCTAL, &v), 0, "octal 600 parses");
    TAP_IS_INT(v, 0600, "600 is 0600");
    TAP_IS_INT(uint_rc("0600", 0, 07777, CLI_NUM_OCTAL, &v), 0, "octal 0600 parses");
    TAP_IS_INT(v, 0600, "0600 is 0600");
    TAP_IS_INT(uint_rc("0999", 0, 07777, CLI_NUM_OCTAL, &v), -EINVAL, "0999 is not octal");
    TAP_IS_INT(uint_rc("8", 0, 07777, CLI_NUM_OCTAL, &v), -EINVAL, "8 is not octal");
    TAP_IS_INT(uint_rc("7777", 0, 07777, CLI_NUM_OCTAL, &v), 0, "07777 parses");
    TAP_IS_INT(uint_rc("10000", 0, 07777, CLI_NUM_OCTAL, &v), -ERANGE, "010000 is too big");
}

static void test_uint_sizes(void)
{
    uint64_t v;

    TAP_IS_INT(uint_rc("131072", 0, UINT64_MAX, CLI_NUM_SIZE, &v), 0, "131072 parses");
    TAP_IS_INT(v, 131072, "131072 bytes");
    TAP_IS_INT(uint_rc("128k", 0, UINT64_MAX, CLI_NUM_SIZE, &v), 0, "128k parses");
    TAP_IS_INT(v, 131072, "128k is 131072");
    TAP_IS_INT(uint_rc("128K", 0, UINT64_MAX, CLI_NUM_SIZE, &v), 0, "128K parses");
    TAP_IS_INT(v, 131072, "128K is 131072");
    TAP_IS_INT(uint_rc("1M", 0, UINT64_MAX, CLI_NUM_SIZE, &v), 0, "1M parses");
    TAP_IS_INT(v, 1048576, "1M is 1048576");
    TAP_IS_INT(uint_rc("1m", 0, UINT64_MAX, CLI_NUM_SIZE, &v), 0, "1m parses");
    TAP_IS_INT(uint_rc("2g", 0, UINT64_MAX, CLI_NUM_SIZE, &v), 0, "2g parses");
    TAP_IS_INT(v, 2147483648LL, "2g is 2^31");
    TAP_IS_INT(uint_rc("64M", 1, 64u << 20, CLI_NUM_SIZE, &v), 0, "64M is within 1..64M");
    TAP_IS_INT(uint_rc("65M", 1, 64u << 20, CLI_NUM_SIZE, &v), -ERANGE, "65M is not");
    TAP_IS_INT(uint_rc("67108865", 1, 64u << 20, CLI_NUM_SIZE, &v), -ERANGE,
               "64M + 1 is not");
    TAP_IS_INT(uint_rc("0", 1, 64u << 20, CLI_NUM_SIZE, &v), -ERANGE, "0 is under 1");
    TAP_IS_INT(uint_rc("0k", 0, 10, CLI_NUM_SIZE, &v), 0, "0k parses");
    TAP_IS_INT(uint_rc("1kb", 0, UINT64_MAX, CLI_NUM_SIZE, &v), -EINVAL,
               "two suffix letters refused");
    TAP_IS_INT(uint_rc("1x", 0, UINT64_MAX, CLI_NUM_SIZE, &v), -EINVAL, "unknown suffix refused");
    TAP_IS_INT(uint_rc("1T", 0, UINT64_MAX, CLI_NUM_SIZE, &v), -EINVAL, "no T suffix");
    TAP_IS_INT(uint_rc("-1", 0, UINT64_MAX, CLI_NUM_SIZE, &v), -EINVAL, "negative refused");
    TAP_IS_INT(uint_rc("k", 0, UINT64_MAX, CLI_NUM_SIZE, &v), -EINVAL, "no digits refused");
    TAP_IS_INT(uint_rc("1 k", 0, UINT64_MAX, CLI_NUM_SIZE, &v), -EINVAL, "a blank before k");
    TAP_IS_INT(uint_rc("99999999999999999999", 0, UINT64_MAX, CLI_NUM_SIZE, &v), -ERANGE,
               "overflow refused");
    TAP_IS_INT(uint_rc("17179869183G", 0, UINT64_MAX, CLI_NUM_SIZE, &v), 0,
               "(2^34 - 1) G fits 64 bits");
    TAP_IS_INT(uint_rc("17179869184G", 0, UINT64_MAX, CLI_NUM_SIZE, &v), -ERANGE,
               "2^34 G is 2^64: overflow refused");
    TAP_IS_INT(uint_rc("0x10k", 0, UINT64_MAX, CLI_NUM_SIZE | CLI_NUM_PREFIX, &v), 0,
               "hex with a suffix, when both are asked for");
    TAP_IS_INT(v, 16384, "0x10k is 16384");
}

/* ---- seconds */

static int seconds_rc(const char *text, double max, double *v)
{
    double out = -7;
    int rc = cli_parse_seconds(text, 0, max, &out);

    if (rc < 0 && out != -7)
        return 99;
    *v = out;
    return rc;
}

static void test_seconds(void)
{
    double d;

    TAP_IS_INT(seconds_rc("0.5", 1e6, &d), 0, "0.5 s parses");
    TAP_IS_INT(d * 10, 5, "0.5 s value");
    TAP_IS_INT(seconds_rc("0", 1e6, &d), 0, "0 s parses");
    TAP_IS_INT(seconds_rc(".25", 1e6, &d), 0, ".25 s parses");
    TAP_IS_INT(d * 100, 25, ".25 s value");
    TAP_IS_INT(seconds_rc("2.", 1e6, &d), 0, "2. s parses");
    TAP_IS_INT(d, 2, "2. s value");
    TAP_IS_INT(seconds_rc("1000000", 1e6, &d), 0, "the maximum itself parses");
    TAP_IS_INT(seconds_rc("1000000.5", 1e6, &d), -ERANGE, "over the maximum: ERANGE");
    TAP_IS_INT(cli_parse_seconds("0.5", 1, 2, &d), -ERANGE, "under the minimum: ERANGE");
    TAP_IS_INT(seconds_rc("-1", 1e6, &d), -EINVAL, "negative seconds refused");
    TAP_IS_INT(seconds_rc("+1", 1e6, &d), -EINVAL, "a plus sign refused");
    TAP_IS_INT(seconds_rc("1s", 1e6, &d), -EINVAL, "a unit suffix is refused");
    TAP_IS_INT(seconds_rc("", 1e6, &d), -EINVAL, "empty refused");
    TAP_IS_INT(seconds_rc(NULL, 1e6, &d), -EINVAL, "NULL refused");
    TAP_IS_INT(seconds_rc(".", 1e6, &d), -EINVAL, "a lone point refused");
    TAP_IS_INT(seconds_rc("1.2.3", 1e6, &d), -EINVAL, "two points refused");
    TAP_IS_INT(seconds_rc(" 1", 1e6, &d), -EINVAL, "leading blank refused");
    TAP_IS_INT(seconds_rc("1 ", 1e6, &d), -EINVAL, "trailing blank refused");
    TAP_IS_INT(seconds_rc("inf", 1e6, &d), -EINVAL, "inf refused");
    TAP_IS_INT(seconds_rc("nan", 1e6, &d), -EINVAL, "nan refused");
    TAP_IS_INT(seconds_rc("0x10", 1e6, &d), -EINVAL, "hex refused");
    TAP_IS_INT(seconds_rc("1e7", 1e6, &d) < 0, 1, "more than 1e6 s refused");
    TAP_IS_INT(seconds_rc("1e3", 1e6, &d), -EINVAL, "an exponent refused");
    TAP_IS_INT(seconds_rc("9999999999999999999999999999999999999999999999999999999999999999"
                          "9999999999999999999999999999999999999999999999999999999999999999"
                          "9999999999999999999999999999999999999999999999999999999999999999"
                          "9999999999999999999999999999999999999999999999999999999999999999"
                          "9999999999999999999999999999999999999999999999999999999999999999",
                          1e6, &d), -ERANGE, "320 digits: out of range, not infinite");
}

/* ---- the option table */

static struct {
    bool verbose;
    int debug, dir;
    const char *transport, *logfile, *operand_seen;
    unsigned port;
    size_t bufsize;
    double timeout;
    int calls;
} got;

static int say_hello(const struct cli_option *o, const char *arg)
{
    (void)o;
    (void)arg;
    got.calls++;
    return CLI_STOP;
}

static int even_only(const struct cli_option *o, const char *arg)
{
    uint64_t v;

    if (cli_parse_uint(arg, 0, 100, 0, &v) < 0 || v % 2 != 0)
        return CLI_BAD_VALUE;
    *(unsigned *)o->value = (unsigned)v;
    return CLI_GO_ON;
}

static const char *computed_help(char *buf, size_t size)
{
    snprintf(buf, size, "known at run time: %d\n(second line)", 42);
    return buf;
}

static const struct cli_option plain_options[] = {
    {'v', NULL, NULL, "say more", .kind = CLI_TRUE, .value = &got.verbose},
    {'d', NULL, NULL, "debug; repeat for more", .kind = CLI_COUNT, .value = &got.debug},
    {'u', NULL, NULL, "one way", .kind = CLI_SET_INT, .value = &got.dir, .set_to = 0},
    {'U', NULL, NULL, "the other way", .kind = CLI_SET_INT, .value = &got.dir, .set_to = 1},
    {'p', "--port", "N", "a port", .kind = CLI_UINT, .value = &got.port, .max = 65535,
     .bad = "bad port '%s' (0 to 65535)"},
    {'b', NULL, "SIZE", "buffer", .kind = CLI_SIZE, .value = &got.bufsize, .min = 1,
     .max = 64u << 20, .bad = "bad buffer size '%s' (1 byte to 64M)"},
    {'t', NULL, "SEC", "timeout", .kind = CLI_SECONDS, .value = &got.timeout,
     .max = 1000000, .bad = "bad number of seconds '%s'"},
    {0, "--even", "N", NULL, .kind = CLI_CALL, .call = even_only, .value = &got.port,
     .bad = "%s: not even"},
    {0, "--transport", "=SPEC", NULL, .help_fn = computed_help, .kind = CLI_STRING,
     .value = &got.transport},
    {'h', "--hello", NULL, "say hello and stop", .kind = CLI_CALL, .call = say_hello},
    {0, "--secret", NULL, NULL, .kind = CLI_TRUE, .value = &got.verbose},
};

static const struct cli_program plain = {
    .name = "prog", .usage_hint = " (see prog --help)", .options = plain_options,
    .n_options = CLI_N(plain_options), .unknown = "unknown option '%s'",
    .missing = "option '%s' needs an argument", .long_indent = 4, .help_column = 24,
};

/* socat's style: -lf FILE, -ls, -d -d, -4, next to ordinary long names. */
static const struct cli_option socat_options[] = {
    {'d', NULL, NULL, "debug", .kind = CLI_COUNT, .value = &got.debug},
    {'l', NULL, "PORT", "listen", .kind = CLI_STRING, .value = &got.operand_seen},
    {0, "-lf", "FILE", "log to FILE", .kind = CLI_STRING, .value = &got.logfile},
    {0, "-ls", NULL, "log to stderr", .kind = CLI_TRUE, .value = &got.verbose},
    {'4', NULL, NULL, "IPv4 only", .kind = CLI_SET_INT, .value = &got.dir, .set_to = 4},
    {0, "--transport", "SPEC", "transport", .kind = CLI_STRING, .value = &got.transport},
};

static const struct cli_program socat = {
    .name = "socatlike", .options = socat_options, .n_options = CLI_N(socat_options),
    .unknown = "%s: unknown option", .missing = "%s: needs a value", .help_column = 16,
};

static const struct cli_program in_order = {
    .name = "ctl", .options = plain_options, .n_options = CLI_N(plain_options),
    .unknown = "%s: unknown option (try 'ctl help')", .missing = "%s: needs a value",
    .in_order = 1, .help_column = 20,
};

static char stderr_text[4096];
static char *argv_store[16];
static char argv_text[16][64];

static FILE *capture_file;
static int saved_stderr;

/* Sends stderr (fd 2) to a file until capture_end() reads it into stderr_text. */
static void capture_begin(void)
{
    capture_file = tmpfile();
    saved_stderr = dup(2);
    fflush(stderr);
    dup2(fileno(capture_file), 2);
}

static void capture_end(void)
{
    size_t n;

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(capture_file);
    n = fread(stderr_text, 1, sizeof(stderr_text) - 1, capture_file);
    stderr_text[n] = '\0';
    fclose(capture_file);
}

/* Runs cli_parse on words (NULL-terminated), stderr captured in stderr_text. Returns
 * cli_parse's result; *status is the exit status when it is -1. */
static int parse_words(const struct cli_program *p, int *status, char **first,
                       const char *const *words)
{
    int argc = 0, rc;

    memset(&got, 0, sizeof(got));
    got.dir = -1;
    for (; words[argc] != NULL; argc++) {
        snprintf(argv_text[argc], sizeof(argv_text[argc]), "%s", words[argc]);
        argv_store[argc] = argv_text[argc];
    }
    argv_store[argc] = NULL;
    *status = -1;
    capture_begin();
    rc = cli_parse(p, argc, argv_store, status);
    capture_end();
    *first = rc >= 0 && rc < argc ? argv_store[rc] : NULL;
    return rc;
}

#define PARSE(p, ...) parse_words(p, &status, &first, (const char *const[]){"prog", __VA_ARGS__, NULL})

static void test_kinds(void)
{
    int status;
    char *first;

    TAP_IS_INT(PARSE(&plain, "-v", "-d", "-dd", "-U", "A", "B"), 5, "operands start at 5");
    TAP_IS_INT(got.verbose && got.debug == 3 && got.dir == 1, 1, "-v, -d -dd and -U stored");
    TAP_IS_STR(stderr_text, "", "nothing on stderr");
    TAP_IS_INT(PARSE(&plain, "A", "-u", "B", "-p", "80", "--port=81", "-b", "128k"), 7,
               "options after operands are permuted before them");
    TAP_IS_STR(first, "A", "the first operand stays first");
    TAP_IS_INT(got.dir == 0 && got.port == 81 && got.bufsize == 131072, 1,
               "-u, the last --port, and -b 128k stored");
    TAP_IS_INT(PARSE(&plain, "-t0.25", "-p65535", "--transport", "x:y"), 5, "attached values");
    TAP_IS_INT(got.timeout * 100 == 25 && got.port == 65535, 1, "-t0.25 and -p65535 stored");
    TAP_IS_STR(got.transport, "x:y", "--transport stored as given");
    TAP_IS_INT(PARSE(&plain, "--even", "42", "--po", "7"), 5, "a call and an abbreviation");
    TAP_IS_INT(got.port, 7, "--po is --port");
    TAP_IS_INT(PARSE(&plain, "--secret"), 2, "a hidden option still parses");
    TAP_IS_INT(PARSE(&plain, "-v", "--", "-d"), 3, "-- ends the options");
    TAP_IS_INT(got.debug, 0, "-d after -- is an operand");
}

static void test_stop_and_errors(void)
{
    int status;
    char *first;

    TAP_IS_INT(PARSE(&plain, "-h", "-q"), -1, "a CLI_STOP call ends the parse");
    TAP_IS_INT(status, 0, "with status 0, before the bad option after it");
    TAP_IS_INT(got.calls, 1, "the call ran once");
    TAP_IS_INT(PARSE(&plain, "-q"), -1, "an unknown short option");
    TAP_IS_INT(status, CLI_EXIT_USAGE, "is a usage error");
    TAP_IS_STR(stderr_text, "prog: unknown option '-q' (see prog --help)\n", "named by letter");
    PARSE(&plain, "-vq");
    TAP_IS_STR(stderr_text, "prog: unknown option '-q' (see prog --help)\n",
               "in a cluster too");
    PARSE(&plain, "--bogus", "x");
    TAP_IS_STR(stderr_text, "prog: unknown option '--bogus' (see prog --help)\n",
               "an unknown long option as typed");
    PARSE(&plain, "--secret=1");
    TAP_IS_STR(stderr_text, "prog: unknown option '--secret=1' (see prog --help)\n",
               "a value for an option without one");
    PARSE(&plain, "A", "-b");
    TAP_IS_STR(stderr_text, "prog: option '-b' needs an argument (see prog --help)\n",
               "a missing short argument");
    PARSE(&plain, "--port");
    TAP_IS_STR(stderr_text, "prog: option '--port' needs an argument (see prog --help)\n",
               "a missing long argument");
    PARSE(&plain, "-p", "65536");
    TAP_IS_STR(stderr_text, "prog: -p: bad port '65536' (0 to 65535) (see prog --help)\n",
               "a bad value, by the letter used");
    PARSE(&plain, "--port", "-1");
    TAP_IS_STR(stderr_text, "prog: --port: bad port '-1' (0 to 65535) (see prog --help)\n",
               "a bad value, by the long name used");
    PARSE(&plain, "-b", "0");
    TAP_IS_STR(stderr_text, "prog: -b: bad buffer size '0' (1 byte to 64M) (see prog --help)\n",
               "a size under its minimum");
    PARSE(&plain, "-b", "");
    TAP_IS_STR(stderr_text, "prog: -b: bad buffer size '' (1 byte to 64M) (see prog --help)\n",
               "an empty value");
    PARSE(&plain, "-t", "soon");
    TAP_IS_STR(stderr_text, "prog: -t: bad number of seconds 'soon' (see prog --help)\n",
               "bad seconds");
    TAP_IS_INT(PARSE(&plain, "--even", "41"), -1, "a call refusing its value");
    TAP_IS_STR(stderr_text, "prog: --even: 41: not even (see prog --help)\n",
               "the row's message, the value where %%s stands");
    TAP_IS_INT(status, CLI_EXIT_USAGE, "is a usage error");
    PARSE(&plain, "-p", "%s%n");
    TAP_IS_STR(stderr_text, "prog: -p: bad port '%s%n' (0 to 65535) (see prog --help)\n",
               "a value with printf conversions is printed as it is");
}

static void test_in_order(void)
{
    int status;
    char *first;

    TAP_IS_INT(PARSE(&in_order, "-v", "cid", "-d"), 2, "options end at the command");
    TAP_IS_STR(first, "cid", "the command is the first operand");
    TAP_IS_INT(got.debug, 0, "the command's -d is left to it");
    PARSE(&in_order, "-x", "cid");
    TAP_IS_STR(stderr_text, "ctl: -x: unknown option (try 'ctl help')\n",
               "the program's own wording, no hint");
    PARSE(&in_order, "--port");
    TAP_IS_STR(stderr_text, "ctl: --port: needs a value\n", "missing value, its wording");
}

static void test_single_dash_names(void)
{
    int status;
    char *first;

    TAP_IS_INT(PARSE(&socat, "-lf", "/tmp/log", "-ls", "-d", "-d", "-d", "-4", "A"), 8,
               "-lf FILE, -ls, -d -d -d, -4");
    TAP_IS_STR(got.logfile, "/tmp/log", "-lf stored its file");
    TAP_IS_INT(got.verbose && got.debug == 3 && got.dir == 4, 1, "-ls, -d x3, -4 stored");
    TAP_IS_INT(PARSE(&socat, "-lf=/x", "-l", "5", "-dd"), 5, "-lf=FILE, -l PORT, -dd");
    TAP_IS_STR(got.logfile, "/x", "-lf=FILE stored");
    TAP_IS_STR(got.operand_seen, "5", "-l is still the short option");
    TAP_IS_INT(got.debug, 2, "-dd is still two -d");
    TAP_IS_INT(PARSE(&socat, "-l5000"), 2, "-l with an attached value");
    TAP_IS_STR(got.operand_seen, "5000", "-l5000 is -l 5000");
    TAP_IS_INT(PARSE(&socat, "--transport", "k", "--tr=u"), 4, "double-dash names still work");
    TAP_IS_STR(got.transport, "u", "and abbreviate");
    TAP_IS_INT(PARSE(&socat, "--lf", "x"), -1, "a single-dash name with two dashes");
    TAP_IS_STR(stderr_text, "socatlike: --lf: unknown option\n", "is unknown");
    TAP_IS_INT(PARSE(&socat, "-transport", "x"), -1, "a double-dash name with one dash");
    TAP_IS_STR(stderr_text, "socatlike: -transport: unknown option\n", "is unknown");
    TAP_IS_INT(PARSE(&socat, "-lq"), 2, "a word no name matches, starting with a letter");
    TAP_IS_STR(got.operand_seen, "q", "is that short option with its value");
    TAP_IS_INT(PARSE(&socat, "-qq"), -1, "an unknown single-dash word");
    TAP_IS_STR(stderr_text, "socatlike: -qq: unknown option\n", "is unknown as typed");
    TAP_IS_INT(PARSE(&socat, "-lf"), -1, "-lf without its file");
    TAP_IS_STR(stderr_text, "socatlike: -lf: needs a value\n", "needs a value");
}

static void test_help(void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);

    cli_print_options(f, &plain);
    fclose(f);
    TAP_IS_STR(text,
               "  -v                    say more\n"
               "  -d                    debug; repeat for more\n"
               "  -u                    one way\n"
               "  -U                    the other way\n"
               "  -p, --port N          a port\n"
               "  -b SIZE               buffer\n"
               "  -t SEC                timeout\n"
               "      --transport=SPEC  known at run time: 42\n"
               "                        (second line)\n"
               "  -h, --hello           say hello and stop\n",
               "one line a row in order; hidden rows left out; '=' joins; '\\n' continues");
    free(text);
    text = NULL;
    f = open_memstream(&text, &size);
    cli_print_options(f, &socat);
    fclose(f);
    TAP_IS_STR(text,
               "  -d            debug\n"
               "  -l PORT       listen\n"
               "  -lf FILE      log to FILE\n"
               "  -ls           log to stderr\n"
               "  -4            IPv4 only\n"
               "  --transport SPEC  transport\n",
               "single-dash names align with letters; a long row keeps two blanks");
    free(text);
}

static void test_diag(void)
{
    char long_text[2000];
    int rc;

    cli_diag_init("named", NULL);
    TAP_IS_STR(cli_program_name(), "named", "the program's name");
    capture_begin();
    cli_error("%s: %d", "what", 7);
    capture_end();
    TAP_IS_STR(stderr_text, "named: what: 7\n", "cli_error: prog: message");
    capture_begin();
    cli_error_errno(-ENOENT, "open %s", "/x");
    cli_error_errno(EACCES, "bind");
    capture_end();
    TAP_IS_STR(stderr_text, "named: open /x: No such file or directory\n"
                            "named: bind: Permission denied\n",
               "cli_error_errno: the errno text, either sign");
    capture_begin();
    rc = cli_usage_error("no hint");
    capture_end();
    TAP_IS_STR(stderr_text, "named: no hint\n", "a usage error without a hint");
    TAP_IS_INT(rc, CLI_EXIT_USAGE, "returns exit status 2");
    cli_diag_init("named", " (see named --help)");
    capture_begin();
    cli_usage_error("bad %s", "thing");
    capture_end();
    TAP_IS_STR(stderr_text, "named: bad thing (see named --help)\n", "with the hint at the end");
    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    capture_begin();
    cli_error("%s", long_text);
    capture_end();
    TAP_IS_INT(strlen(stderr_text), 1024, "a too long message is cut to one 1 KiB line");
    TAP_IS_INT(stderr_text[1022] == 'x' && stderr_text[1023] == '\n', 1, "ending in a newline");
    cli_diag_init(NULL, NULL);
    TAP_IS_STR(cli_program_name(), "test_cli", "by default the name it was run as");
}

int main(void)
{
    test_uint_decimal();
    test_uint_bases();
    test_uint_sizes();
    test_seconds();
    test_kinds();
    test_stop_and_errors();
    test_in_order();
    test_single_dash_names();
    test_help();
    test_diag();
    return tap_done();
}
