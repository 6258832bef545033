# cmd/common: what the programs share and libvsock must not hold (curl's tool helpers):
# the option table (getopt, --help), strict numbers, "prog: what: why" diagnostics.
# The programs link it; lib/ never includes it.
noinst_LTLIBRARIES += cmd/common/libcli.la
cmd_common_libcli_la_SOURCES = \
	cmd/common/cli_opt.c cmd/common/cli_opt.h \
	cmd/common/cli_num.c cmd/common/cli_num.h \
	cmd/common/cli_diag.c cmd/common/cli_diag.h
CLI_CPPFLAGS = -I$(top_srcdir)/cmd/common
# The fuzz replays compile what they test with the sanitizers: these, not the library.
CLI_FUZZ_SOURCES = cmd/common/cli_num.c cmd/common/cli_diag.c

# Unit tests: the number parser (boundaries, garbage) and the option table (getopt,
# usage errors, --help layout, socat-style single-dash names).
check_PROGRAMS += test/unit/test_cli
test_unit_test_cli_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS)
test_unit_test_cli_LDADD = cmd/common/libcli.la
TESTS += test/unit/test_cli
