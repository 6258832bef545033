# man: mdoc(7) pages, installed and distributed; test/man.bats lints every page with
# mandoc and checks that vsockctl.8 documents every command in vsockctl's table.
dist_man_MANS += man/vsockctl.8 man/vsock.4 man/libvsock.3 man/vhost-user-vsock.8 man/vsockcat.1
TESTS += test/man.bats
EXTRA_DIST += test/man.bats
