# cmd/vsockctl: shows the local CID, the transport (cid, transport, info [--json]) and the
# kernel's vsock sockets (sockets), sets up the uio transport (devices, bind, ...) from
# the command line, a script on stdin, or an interactive readline shell. See vsockctl(8).
bin_PROGRAMS += cmd/vsockctl/vsockctl
cmd_vsockctl_vsockctl_SOURCES = \
	cmd/vsockctl/main.c \
	cmd/vsockctl/options.c cmd/vsockctl/options.h \
	cmd/vsockctl/commands.c cmd/vsockctl/commands.h \
	cmd/vsockctl/pci_cmds.c cmd/vsockctl/pci_cmds.h \
	cmd/vsockctl/sockets.c cmd/vsockctl/sockets.h \
	cmd/vsockctl/shell.c cmd/vsockctl/shell.h \
	cmd/vsockctl/output.c cmd/vsockctl/output.h
cmd_vsockctl_vsockctl_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS)
cmd_vsockctl_vsockctl_LDADD = lib/libvsock-core.la cmd/common/libcli.la $(READLINE_LIBS)

# Unit tests: the command table (lookup, completion, argument parsing, word splitting)
# and the table/JSON emitters; no readline, no terminal.
check_PROGRAMS += test/unit/test_vsockctl_commands test/unit/test_vsockctl_output
test_unit_test_vsockctl_commands_SOURCES = test/unit/test_vsockctl_commands.c \
	cmd/vsockctl/commands.c cmd/vsockctl/options.c cmd/vsockctl/pci_cmds.c \
	cmd/vsockctl/sockets.c cmd/vsockctl/output.c
test_unit_test_vsockctl_commands_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS) \
	-I$(top_srcdir)/cmd/vsockctl
test_unit_test_vsockctl_commands_LDADD = lib/libvsock-core.la cmd/common/libcli.la
test_unit_test_vsockctl_output_SOURCES = test/unit/test_vsockctl_output.c \
	cmd/vsockctl/output.c
test_unit_test_vsockctl_output_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cmd/vsockctl
TESTS += test/unit/test_vsockctl_commands test/unit/test_vsockctl_output

# The sock_diag reply parser of `vsockctl sockets`, on crafted datagrams.
check_PROGRAMS += test/unit/test_vsockctl_sockets
test_unit_test_vsockctl_sockets_SOURCES = test/unit/test_vsockctl_sockets.c \
	cmd/vsockctl/sockets.c
test_unit_test_vsockctl_sockets_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cmd/vsockctl
TESTS += test/unit/test_vsockctl_sockets

# Integration tests: real processes, the shell driven through tmux.
TESTS += test/vsockctl.bats
EXTRA_DIST += test/vsockctl.bats
