/* fault.c: the test-only fault injection of the device (fault.h). One fault at a time,
 * chosen from a table by VHOST_USER_VSOCK_FAULT when the program starts; the state of
 * one-shot faults lives here so device.c needs no fields for it. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli_num.h"
#include "evloop.h"
#include "fault.h"
#include "log.h"

#define FAULT_RX_WITHHOLD_EVERY 16 /* rx buffers taken between two withholding windows */
#define FAULT_RX_WITHHOLD_DEFAULT_MS 50

enum fault_id fault_current = FAULT_NONE;

static const struct {
    const char *name;
    enum fault_id id;
    int arg;       /* 0: none, 1: optional, 2: required */
    uint32_t dflt;
} fault_table[] = {
    {"credit-starve", FAULT_CREDIT_STARVE, 0, 0},
    {"rx-withhold", FAULT_RX_WITHHOLD, 1, FAULT_RX_WITHHOLD_DEFAULT_MS},
    {"silent", FAULT_SILENT, 1, 0},
    {"rst-after-request", FAULT_RST_AFTER_REQUEST, 0, 0},
    {"rst-after-response", FAULT_RST_AFTER_RESPONSE, 0, 0},
    {"rst-after-bytes", FAULT_RST_AFTER_BYTES, 2, 0},
    {"rst-after-bytes-to-guest", FAULT_RST_AFTER_BYTES_TO_GUEST, 2, 0},
    {"rst-after-shut-wr", FAULT_RST_AFTER_SHUT_WR, 0, 0},
    {"rst-after-eof", FAULT_RST_AFTER_EOF, 0, 0},
    {"no-close-rst", FAULT_NO_CLOSE_RST, 0, 0},
};
#define NFAULTS (sizeof(fault_table) / sizeof(fault_table[0]))

static struct {
    size_t row;
    uint32_t arg;
    int fired;
    uint32_t doomed_host_port, doomed_guest_port;
    int doomed;
    unsigned long violations;
    unsigned int rx_taken, windows;
    int64_t window_end_ms; /* 0: rx buffers are not withheld */
} flt;

/* "unknown fault (a, b[=N], c=N)" from the table, so the message cannot drift. */
static const char *fault_known_list(void)
{
    static char text[400];
    size_t len = 0;

    len += (size_t)snprintf(text, sizeof(text), "unknown fault (");
    for (size_t i = 0; i < NFAULTS && len < sizeof(text); i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s%s",
                                i > 0 ? ", " : "", fault_table[i].name,
                                fault_table[i].arg == 2   ? "=N"
                                : fault_table[i].arg == 1 ? "[=N]"
                                                          : "");
    if (len < sizeof(text))
        snprintf(text + len, sizeof(text) - len, ")");
    return text;
}

int fault_init(const char *spec, const char **why)
{
    const char *eq;
    size_t name_len;

    if (spec == NULL || spec[0] == '\0')
        return 0;
    eq = strchr(spec, '=');
    name_len = eq != NULL ? (size_t)(eq - spec) : strlen(spec);
    for (size_t i = 0; i < NFAULTS; i++) {
        uint64_t v;

        if (strlen(fault_table[i].name) != name_len ||
            strncmp(fault_table[i].name, spec, name_len) != 0)
            continue;
        flt.row = i;
        flt.arg = fault_table[i].dflt;
        if (eq == NULL && fault_table[i].arg == 2) {
            *why = "this fault needs a number: NAME=N";
            return -1;
        }
        if (eq != NULL) {
            if (fault_table[i].arg == 0) {
                *why = "this fault takes no number";
                return -1;
            }
            if (cli_parse_uint(eq + 1, 0, UINT32_MAX, 0, &v) < 0) {
                *why = "not a number in 0..4294967295";
                return -1;
            }
            flt.arg = (uint32_t)v;
        }
        fault_current = fault_table[i].id;
        return 0;
    }
    *why = fault_known_list();
    return -1;
}

const char *fault_name(void)
{
    return fault_current == FAULT_NONE ? NULL : fault_table[flt.row].name;
}

int fault_silent_to(uint64_t dst_cid)
{
    return fault_current == FAULT_SILENT && (flt.arg == 0 || dst_cid == flt.arg);
}

int fault_silent_all(void)
{
    return fault_current == FAULT_SILENT && flt.arg == 0;
}

int fault_fire(enum fault_id id)
{
    if (fault_current != id || flt.fired)
        return 0;
    flt.fired = 1;
    log_msg("fault %s: injected", fault_table[flt.row].name);
    return 1;
}

void fault_doom(uint32_t host_port, uint32_t guest_port)
{
    flt.doomed = 1;
    flt.doomed_host_port = host_port;
    flt.doomed_guest_port = guest_port;
}

int fault_doomed(uint32_t host_port, uint32_t guest_port)
{
    if (!flt.doomed || flt.doomed_host_port != host_port ||
        flt.doomed_guest_port != guest_port)
        return 0;
    flt.doomed = 0;
    return 1;
}

uint32_t fault_clip(enum fault_id id, uint32_t done, uint32_t len)
{
    if (fault_current != id || flt.fired)
        return len;
    if (done >= flt.arg)
        return 0;
    return flt.arg - done < len ? flt.arg - done : len;
}

int fault_rst_due(enum fault_id id, uint32_t done)
{
    return fault_current == id && !flt.fired && done >= flt.arg && fault_fire(id);
}

void fault_credit_check(uint32_t guest_port, uint32_t used, uint32_t buf_alloc)
{
    if (fault_current == FAULT_NONE || used <= buf_alloc)
        return;
    flt.violations++;
    log_msg("fault %s: guest port %u sent %u bytes beyond its credit (violation %lu)",
            fault_table[flt.row].name, guest_port, used - buf_alloc, flt.violations);
}

int fault_rx_withheld(void)
{
    if (fault_current != FAULT_RX_WITHHOLD)
        return 0;
    if (flt.window_end_ms != 0)
        return 1;
    if (++flt.rx_taken % FAULT_RX_WITHHOLD_EVERY != 0)
        return 0;
    flt.window_end_ms = ev_now_ms() + flt.arg;
    flt.windows++;
    log_debug("fault rx-withhold: no rx buffer taken for %u ms (window %u)", flt.arg,
              flt.windows);
    return 1;
}

int fault_rx_timer(int64_t now_ms)
{
    if (flt.window_end_ms == 0)
        return -1;
    if (now_ms < flt.window_end_ms)
        return (int)(flt.window_end_ms - now_ms);
    flt.window_end_ms = 0;
    return 0;
}
