/* test_vhost_connect.c: the backend's parser of the hybrid vsock "CONNECT <port>\n" line
 * (cmd/vhost-user-vsock/connect_line.c): what is accepted, and every way a host program's
 * line can be wrong. */
#include "config.h"

#include <string.h>

#include "connect_line.h"
#include "tap.h"

static const struct {
    const char *line;
    int ok;
    unsigned long port;
    const char *what;
} cases[] = {
    {"CONNECT 1234\n", 1, 1234, "plain line"},
    {"connect 5\n", 1, 5, "keyword in lower case"},
    {"CoNnEcT 0\n", 1, 0, "mixed case, port 0"},
    {"CONNECT 4294967294\n", 1, 4294967294ul, "largest port"},
    {"CONNECT 4294967295\n", 0, 0, "VMADDR_PORT_ANY refused"},
    {"CONNECT 99999999999\n", 0, 0, "port overflowing 32 bits"},
    {"CONNECT 99999999999999999999999\n", 0, 0, "port overflowing 64 bits"},
    {"CONNECT 1234", 0, 0, "no newline"},
    {"CONNECT \n", 0, 0, "no port"},
    {"CONNECT\n", 0, 0, "no space, no port"},
    {"CONNECT  12\n", 0, 0, "two spaces"},
    {"CONNECT -1\n", 0, 0, "negative port"},
    {"CONNECT +12\n", 0, 0, "plus sign"},
    {"CONNECT 012\n", 0, 0, "leading zero"},
    {"CONNECT 0x10\n", 0, 0, "hexadecimal"},
    {"CONNECT 12 \n", 0, 0, "trailing space"},
    {"CONNECT 12\r\n", 0, 0, "carriage return"},
    {"CONNECTED 12\n", 0, 0, "longer keyword"},
    {"LISTEN 12\n", 0, 0, "other keyword"},
    {"\n", 0, 0, "empty line"},
    {"CONNECT 1 2\n", 0, 0, "two numbers"},
    {"CONNECT 00000000000000000000000001\n", 0, 0, "line longer than 32 bytes"},
};

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t port = 7;
        const char *why = NULL;
        int rc = connect_line_parse(cases[i].line, strlen(cases[i].line), &port, &why);

        if (cases[i].ok) {
            TAP_IS_INT(rc, 0, "accepts %s", cases[i].what);
            TAP_IS_INT(port, cases[i].port, "%s: port %lu", cases[i].what, cases[i].port);
        } else {
            TAP_IS_INT(rc, -22, "refuses %s", cases[i].what);
            tap_ok(why != NULL && why[0] != '\0', "%s: says why (%s)", cases[i].what,
                   why ? why : "null");
        }
    }
    {
        /* An embedded NUL must not end the parse early: length is what counts. */
        static const char nul[] = "CONNECT 12\0\n";
        uint32_t port;
        const char *why;

        TAP_IS_INT(connect_line_parse(nul, sizeof(nul) - 1, &port, &why), -22,
                   "refuses a NUL byte inside the line");
    }
    return tap_done();
}
