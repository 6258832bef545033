/* test_vsockcat_spec.c: vsockcat's address parser (cmd/vsockcat/spec.c with the type
 * table of addrtypes.c): quoting, escapes, [v6] brackets, case-insensitive names, every
 * type's argument count, option values and their errors, and the word splitter of EXEC
 * (the number parser is cmd/common's: test_cli.c). Parsing only: nothing is opened. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "addrtypes.h"
#include "spec.h"
#include "tap.h"

/* What the address types' code expects main.c to provide; never used when parsing. */
static const struct vc_opts test_opts = {.only_dir = -1, .half_close_wait = 0.5, .bufsize = 4096};
const struct vc_opts *vc_opts = &test_opts;

struct vsock_transport *vc_transport(void)
{
    return NULL;
}

/* ---- addresses that parse: type, arguments */

struct good_case {
    const char *text;
    const char *type;       /* canonical name */
    const char *arg0, *arg1;   /* ANY: not checked */
};

#define ANY "(any)"

static const struct good_case good_cases[] = {
    {"STDIO", "STDIO", NULL, NULL},
    {"-", "STDIO", NULL, NULL},
    {"stdio", "STDIO", NULL, NULL},
    {"VSOCK-CONNECT:2:1234", "VSOCK-CONNECT", "2", "1234"},
    {"vsock:host:0x10", "VSOCK-CONNECT", "host", "0x10"},
    {"VSOCK-LISTEN:5000", "VSOCK-LISTEN", "5000", NULL},
    {"VSOCK-HYBRID:/run/fc.sock:52", "VSOCK-HYBRID", "/run/fc.sock", "52"},
    {"TCP:example.org:80", "TCP", "example.org", "80"},
    {"tcp-connect:localhost:8080", "TCP", "localhost", "8080"},
    /* [v6] keeps the literal's colons together (whether the brackets stay is the type's
     * business). */
    {"TCP:[::1]:80", "TCP", ANY, "80"},
    {"TCP:[fe80::1%eth0]:22", "TCP", ANY, "22"},
    {"TCP-LISTEN:0", "TCP-LISTEN", "0", NULL},
    {"Tcp-Listen:65535", "TCP-LISTEN", "65535", NULL},
    {"UNIX-CONNECT:/tmp/s", "UNIX-CONNECT", "/tmp/s", NULL},
    {"UNIX-LISTEN:rel/path.sock", "UNIX-LISTEN", "rel/path.sock", NULL},
    {"EXEC:cat", "EXEC", "cat", NULL},
    /* The last argument runs to the first option: a command keeps its colons. */
    {"EXEC:ls -l /a:b", "EXEC", "ls -l /a:b", NULL},
    {"SYSTEM:echo a:b; date", "SYSTEM", "echo a:b; date", NULL},
    {"OPEN:/dev/null", "OPEN", "/dev/null", NULL},
    {"OPEN:/tmp/a:b", "OPEN", "/tmp/a:b", NULL},
    {"READLINE", "READLINE", NULL, NULL},
    /* Quoting: '...' and "..." group, backslash escapes, one level is removed. */
    {"SYSTEM:'echo a,b'", "SYSTEM", "echo a,b", NULL},
    {"SYSTEM:\"echo 'x y'\"", "SYSTEM", "echo 'x y'", NULL},
    {"SYSTEM:echo a\\,b", "SYSTEM", "echo a,b", NULL},
    {"OPEN:'/tmp/with,comma'", "OPEN", "/tmp/with,comma", NULL},
    {"OPEN:/tmp/\\'q", "OPEN", "/tmp/'q", NULL},
    {"OPEN:'/tmp/back\\slash'", "OPEN", "/tmp/back\\slash", NULL},
    {"OPEN:\"/tmp/esc\\\"q\"", "OPEN", "/tmp/esc\"q", NULL},
    {"'TCP':h:1", "TCP", "h", "1"},
    {"VSOCK-CONNECT:'2':\"3\"", "VSOCK-CONNECT", "2", "3"},
    {"UNIX-CONNECT:a\\:b", "UNIX-CONNECT", "a:b", NULL},
};

static void test_good(void)
{
    for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
        const struct good_case *c = &good_cases[i];
        struct vc_addr_spec spec;
        char err[256] = "";
        int rc = vc_spec_parse(c->text, &spec, err, sizeof(err));

        if (!tap_ok(rc == 0, "parses: %s", c->text)) {
            printf("#   error: %s\n", err);
            continue;
        }
        TAP_IS_STR(spec.type->name, c->type, "%s: type", c->text);
        if (strcmp(c->arg0 ? c->arg0 : "", ANY) != 0)
            TAP_IS_STR(spec.args[0], c->arg0, "%s: argument 1", c->text);
        else
            tap_ok(spec.args[0] && strstr(spec.args[0], "::") && !strchr(spec.args[0], ','),
                   "%s: argument 1 is the whole literal (%s)", c->text, spec.args[0]);
        TAP_IS_STR(spec.args[1], c->arg1, "%s: argument 2", c->text);
        TAP_IS_STR(spec.text, c->text, "%s: text kept as written", c->text);
        vc_spec_free(&spec);
    }
}

/* ---- addresses that do not: the reason */

struct bad_case {
    const char *text;
    const char *err;   /* the whole reason */
};

static const struct bad_case bad_cases[] = {
    {"FOO:bar", "unknown address type 'FOO' (see vsockcat --help)"},
    {"", "unknown address type '' (see vsockcat --help)"},
    {"TCP-LISTENX:1", "unknown address type 'TCP-LISTENX' (see vsockcat --help)"},
    /* argument counts, every type */
    {"STDIO:x", "too many arguments (STDIO)"},
    {"READLINE:x", "too many arguments (READLINE)"},
    {"VSOCK-CONNECT:2", "VSOCK-CONNECT needs 2 arguments (VSOCK-CONNECT:cid:port)"},
    {"VSOCK-CONNECT", "VSOCK-CONNECT needs 2 arguments (VSOCK-CONNECT:cid:port)"},
    {"VSOCK-LISTEN", "VSOCK-LISTEN needs 1 argument (VSOCK-LISTEN:port)"},
    {"VSOCK-HYBRID:/x", "VSOCK-HYBRID needs 2 arguments (VSOCK-HYBRID:uds-path:port)"},
    {"TCP:h", "TCP needs 2 arguments (TCP:host:port)"},
    {"TCP-LISTEN", "TCP-LISTEN needs 1 argument (TCP-LISTEN:port)"},
    {"UNIX-CONNECT", "UNIX-CONNECT needs 1 argument (UNIX-CONNECT:path)"},
    {"UNIX-LISTEN", "UNIX-LISTEN needs 1 argument (UNIX-LISTEN:path)"},
    {"EXEC", "EXEC needs 1 argument (EXEC:command [args])"},
    {"SYSTEM", "SYSTEM needs 1 argument (SYSTEM:shell-command)"},
    {"OPEN", "OPEN needs 1 argument (OPEN:path)"},
    {"TCP::80", "empty argument 1 (TCP:host:port)"},
    {"OPEN:", "empty argument 1 (OPEN:path)"},
    {"OPEN:''", "empty argument 1 (OPEN:path)"},
    /* quoting errors */
    {"OPEN:'/tmp/x", "unterminated ' quote"},
    {"OPEN:\"/tmp/x", "unterminated \" quote"},
    {"OPEN:/tmp/x\\", "trailing backslash"},
    {"EXEC:echo 'a", "unterminated ' quote"},
    /* type checks */
    {"TCP:h:99999", "bad TCP port '99999' (0-65535)"},
    {"TCP:h:http", "bad TCP port 'http' (0-65535)"},
    {"TCP-LISTEN:-1", "bad TCP port '-1' (0-65535)"},
    {"TCP:h:1,bind=[::1", "bad bind address '[::1' (HOST, HOST:PORT or [IPV6]:PORT)"},
    {"TCP:h:1,bind=1.2.3.4:99999", "bad TCP port '99999' (0-65535)"},
    {"VSOCK-CONNECT:2:any", "cannot connect to port 'any'"},
    {"VSOCK-HYBRID:/x:any", "cannot connect to port 'any'"},
    {"OPEN:/x,rdonly,wronly", "options 'rdonly' and 'wronly' exclude each other"},
    {"OPEN:/x,rdonly,append", "option 'rdonly' excludes 'trunc' and 'append'"},
    {"OPEN:/x,excl", "option 'excl' needs 'creat'"},
    /* options */
    {"TCP-LISTEN:1,bogus", "unknown option 'bogus'"},
    {"TCP-LISTEN:1,=1", "bad option '=1'"},
    {"STDIO,fork", "option 'fork' does not apply to STDIO"},
    {"OPEN:/x,fork", "option 'fork' does not apply to OPEN"},
    {"TCP:h:1,fork", "option 'fork' does not apply to TCP"},
    {"EXEC:cat,bind=x", "option 'bind' does not apply to EXEC"},
    {"TCP-LISTEN:1,perm=600", "option 'perm' does not apply to TCP-LISTEN"},
    {"UNIX-LISTEN:/x,reuseaddr", "option 'reuseaddr' does not apply to UNIX-LISTEN"},
    {"READLINE,creat", "option 'creat' does not apply to READLINE"},
    {"TCP-LISTEN:1,max-children", "option 'max-children' needs a number (max-children=N)"},
    {"TCP-LISTEN:1,max-children=x", "option 'max-children' needs a number (max-children=N)"},
    {"TCP-LISTEN:1,max-children=-1", "option 'max-children' needs a number (max-children=N)"},
    {"TCP-LISTEN:1,backlog=2000000", "option 'backlog' needs a number (backlog=N)"},
    {"TCP:h:1,rcvbuf=0", "option 'rcvbuf' needs a byte count in 1..512M (rcvbuf=256k)"},
    {"TCP:h:1,sndbuf=513M", "option 'sndbuf' needs a byte count in 1..512M (sndbuf=256k)"},
    {"UNIX-LISTEN:/x,rcvbuf", "option 'rcvbuf' needs a byte count in 1..512M (rcvbuf=256k)"},
    {"VSOCK-LISTEN:1,rcvbuf=4k", "option 'rcvbuf' does not apply to VSOCK-LISTEN"},
    {"TCP:h:1,connect-timeout", "option 'connect-timeout' needs seconds (connect-timeout=1.5)"},
    {"TCP:h:1,connect-timeout=-1", "option 'connect-timeout' needs seconds (connect-timeout=1.5)"},
    {"TCP:h:1,connect-timeout=nan", "option 'connect-timeout' needs seconds (connect-timeout=1.5)"},
    {"UNIX-LISTEN:/x,perm=0888", "option 'perm' needs an octal mode (perm=0600)"},
    {"UNIX-LISTEN:/x,perm=17777", "option 'perm' needs an octal mode (perm=0600)"},
    {"OPEN:/x,creat=yes", "option 'creat' takes 0 or 1, not 'yes'"},
    {"READLINE,prompt=", "option 'prompt' needs a value (prompt=...)"},
    {"READLINE,history", "option 'history' needs a value (history=...)"},
};

static void test_bad(void)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct vc_addr_spec spec;
        char err[256] = "";
        int rc = vc_spec_parse(c->text, &spec, err, sizeof(err));

        TAP_IS_INT(rc, -1, "refused: %s", c->text);
        TAP_IS_STR(err, c->err, "%s: reason", c->text);
        if (rc == 0)
            vc_spec_free(&spec);
    }
}

/* ---- option values */

static int parse(const char *text, struct vc_addr_spec *spec)
{
    char err[256] = "";
    int rc = vc_spec_parse(text, spec, err, sizeof(err));

    if (rc < 0)
        printf("#   %s: %s\n", text, err);
    return rc;
}

static void test_options(void)
{
    struct vc_addr_spec s;

    if (tap_ok(parse("TCP-LISTEN:80,fork,max-children=5,backlog=7,bind=127.0.0.1", &s) == 0,
               "TCP-LISTEN with options parses")) {
        TAP_IS_INT(!!(s.o.set & VC_OPT_FORK), 1, "fork is set");
        TAP_IS_INT(s.o.max_children, 5, "max-children=5");
        TAP_IS_INT(s.o.backlog, 7, "backlog=7");
        TAP_IS_STR(s.o.bind, "127.0.0.1", "bind=127.0.0.1");
        TAP_IS_INT(s.o.reuseaddr, 1, "TCP-LISTEN: reuseaddr on by default");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("UNIX-CONNECT:/x,rcvbuf=64k,sndbuf=512M", &s) == 0,
               "rcvbuf= and sndbuf= parse")) {
        TAP_IS_INT(s.o.rcvbuf, 65536, "rcvbuf=64k is 65536 bytes");
        TAP_IS_INT(s.o.sndbuf, 512 << 20, "sndbuf=512M, the largest");
        TAP_IS_INT(s.o.set, VC_OPT_RCVBUF | VC_OPT_SNDBUF, "both bits set");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("TCP-LISTEN:80,reuseaddr=0", &s) == 0, "reuseaddr=0 parses")) {
        TAP_IS_INT(s.o.reuseaddr, 0, "reuseaddr=0 turns it off");
        TAP_IS_INT(!!(s.o.set & VC_OPT_REUSEADDR), 0, "reuseaddr=0 clears the bit");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("TCP:h:1", &s) == 0, "TCP parses")) {
        TAP_IS_INT(s.o.reuseaddr, 0, "TCP connect: no reuseaddr by default");
        TAP_IS_INT(s.o.set, 0, "no options set");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("TCP:h:1,connect-timeout=1.5", &s) == 0, "connect-timeout parses")) {
        TAP_IS_INT(s.o.connect_timeout * 1000, 1500, "connect-timeout=1.5 is 1.5 s");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("TCP-LISTEN:1,FORK,Max-Children=2", &s) == 0, "option names are case-insensitive")) {
        TAP_IS_INT(!!(s.o.set & VC_OPT_FORK), 1, "FORK sets fork");
        TAP_IS_INT(s.o.max_children, 2, "Max-Children=2");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("TCP-LISTEN:1,fork,fork=0", &s) == 0, "a later flag=0 parses")) {
        TAP_IS_INT(!!(s.o.set & VC_OPT_FORK), 0, "fork=0 undoes fork");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("TCP-LISTEN:1,bind=a,bind=b", &s) == 0, "a repeated option parses")) {
        TAP_IS_STR(s.o.bind, "b", "the last bind= wins");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("TCP-LISTEN:1,,fork,", &s) == 0, "empty option items are ignored")) {
        TAP_IS_INT(!!(s.o.set & VC_OPT_FORK), 1, "fork still set");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("UNIX-LISTEN:/x,perm=0640,unlink-early", &s) == 0, "UNIX-LISTEN options parse")) {
        TAP_IS_INT(s.o.perm, 0640, "perm=0640 is octal");
        TAP_IS_INT(!!(s.o.set & VC_OPT_UNLINK_EARLY), 1, "unlink-early");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("OPEN:/x", &s) == 0, "OPEN parses")) {
        TAP_IS_INT(s.o.perm, 0666, "perm defaults to 0666");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("OPEN:/x,creat,trunc,append,wronly", &s) == 0, "OPEN flags parse")) {
        TAP_IS_INT(s.o.set, VC_OPT_CREAT | VC_OPT_TRUNC | VC_OPT_APPEND | VC_OPT_WRONLY,
                   "creat, trunc, append and wronly set");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("READLINE,prompt='a, b> ',history=/tmp/h", &s) == 0, "READLINE options parse")) {
        TAP_IS_STR(s.o.prompt, "a, b> ", "a quoted prompt keeps its comma and blank");
        TAP_IS_STR(s.o.history, "/tmp/h", "history=/tmp/h");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("TCP-LISTEN:1,bind=[::1]:80", &s) == 0, "bind=[v6]:port parses")) {
        TAP_IS_STR(s.o.bind, "[::1]:80", "bind keeps the brackets for the resolver step");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("VSOCK-CONNECT:host:1234", &s) == 0, "VSOCK-CONNECT with a CID name parses")) {
        TAP_IS_INT(s.cid, 2, "host is CID 2");
        TAP_IS_INT(s.port, 1234, "port 1234");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("VSOCK-LISTEN:0x20,bind=3", &s) == 0, "VSOCK-LISTEN with bind parses")) {
        TAP_IS_INT(s.port, 32, "0x20 is port 32");
        TAP_IS_INT(s.cid, 3, "bind=3 is CID 3");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("VSOCK-LISTEN:any", &s) == 0, "VSOCK-LISTEN:any parses")) {
        TAP_IS_INT(s.port, 0xffffffffu, "any is VMADDR_PORT_ANY");
        TAP_IS_INT(s.cid, 0xffffffffu, "no bind: CID any");
        vc_spec_free(&s);
    }
    if (tap_ok(parse("VSOCK-HYBRID:/run/v.sock:1024", &s) == 0, "VSOCK-HYBRID parses")) {
        TAP_IS_INT(s.port, 1024, "hybrid port 1024");
        vc_spec_free(&s);
    }
}

/* ---- which types accept which options, from the table */

static void test_option_table(void)
{
    static const struct {
        const char *type;
        unsigned opts;
    } want[] = {
        {"STDIO", 0},
        {"READLINE", VC_OPT_HISTORY | VC_OPT_PROMPT},
        {"TCP", VC_OPT_BIND | VC_OPT_CONNECT_TIMEOUT | VC_OPT_RCVBUF | VC_OPT_SNDBUF},
        {"TCP-LISTEN", VC_OPT_FORK | VC_OPT_MAX_CHILDREN | VC_OPT_BIND | VC_OPT_REUSEADDR |
                           VC_OPT_BACKLOG | VC_OPT_RCVBUF | VC_OPT_SNDBUF},
        {"UNIX-CONNECT", VC_OPT_BIND | VC_OPT_CONNECT_TIMEOUT | VC_OPT_RCVBUF | VC_OPT_SNDBUF},
        {"UNIX-LISTEN", VC_OPT_FORK | VC_OPT_MAX_CHILDREN | VC_OPT_BACKLOG | VC_OPT_UNLINK_EARLY |
                            VC_OPT_PERM | VC_OPT_RCVBUF | VC_OPT_SNDBUF},
        {"VSOCK-LISTEN", VC_OPT_FORK | VC_OPT_MAX_CHILDREN | VC_OPT_BIND | VC_OPT_BACKLOG},
        {"EXEC", 0},
        {"SYSTEM", 0},
    };

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct vc_addr_type *t = vc_addr_type_find(want[i].type);
        if (tap_ok(t != NULL, "type %s is in the table", want[i].type))
            TAP_IS_INT(t->opts, want[i].opts, "%s accepts exactly its options", want[i].type);
    }
    TAP_IS_INT(vc_addr_type_find("tcp-connect") == vc_addr_type_find("TCP"), 1,
               "alias TCP-CONNECT finds TCP");
    TAP_IS_INT(vc_addr_type_find("-") == vc_addr_type_find("stdio"), 1, "alias - finds STDIO");
    TAP_IS_INT(vc_addr_type_find("nope") == NULL, 1, "an unknown name finds nothing");
    TAP_IS_INT(vc_addr_type_find("TCP")->kind, VC_KIND_CONNECT, "TCP opens per connection");
    TAP_IS_INT(vc_addr_type_find("EXEC")->kind, VC_KIND_CONNECT, "EXEC opens per connection");
    TAP_IS_INT(vc_addr_type_find("OPEN")->kind, VC_KIND_LOCAL, "OPEN is opened once");
    TAP_IS_INT(vc_addr_type_find("UNIX-LISTEN")->kind, VC_KIND_LISTEN, "UNIX-LISTEN listens");
    TAP_IS_INT(vc_addr_type_find("VSOCK-CONNECT")->uses_vsock, 1, "VSOCK-CONNECT needs a transport");
    TAP_IS_INT(vc_addr_type_find("VSOCK-HYBRID")->uses_vsock, 0, "VSOCK-HYBRID needs none");
}

/* ---- EXEC's word splitting */

static const char *joined(const char *text)
{
    static char out[256];
    char err[128] = "";
    char **argv = vc_split_words(text, err, sizeof(err));

    if (!argv) {
        snprintf(out, sizeof(out), "error: %s", err);
        return out;
    }
    out[0] = '\0';
    for (char **a = argv; *a; a++) {
        strcat(out, "[");
        strcat(out, *a);
        strcat(out, "]");
    }
    free(argv);
    return out;
}

static void test_split_words(void)
{
    TAP_IS_STR(joined("cat"), "[cat]", "one word");
    TAP_IS_STR(joined("  ls   -l\t/tmp  "), "[ls][-l][/tmp]", "blanks separate, runs collapse");
    TAP_IS_STR(joined("echo a;b"), "[echo][a;b]", "';' is an ordinary character");
    TAP_IS_STR(joined("printf '%s|' 'c d'"), "[printf][%s|][c d]", "single quotes group");
    TAP_IS_STR(joined("x \"a 'b' c\""), "[x][a 'b' c]", "double quotes group, keep single");
    TAP_IS_STR(joined("x a\\ b"), "[x][a b]", "backslash escapes a blank");
    TAP_IS_STR(joined("x 'a\\b'"), "[x][a\\b]", "no escapes inside single quotes");
    TAP_IS_STR(joined("x a''b"), "[x][ab]", "quotes inside a word join");
    TAP_IS_STR(joined("x ''"), "[x][]", "an empty quoted word is a word");
    TAP_IS_STR(joined("$HOME *"), "[$HOME][*]", "no expansion");
    TAP_IS_STR(joined(""), "error: empty command", "empty command");
    TAP_IS_STR(joined("   "), "error: empty command", "blank command");
    TAP_IS_STR(joined("x 'a"), "error: unterminated ' quote", "unterminated quote");
    TAP_IS_STR(joined("x a\\"), "error: trailing backslash", "trailing backslash");
}

int main(void)
{
    test_good();
    test_bad();
    test_options();
    test_option_table();
    test_split_words();
    return tap_done();
}
