# bench: the benchmark suite of issue 6 (`make bench`; never part of `make check`).
# bench/loadgen is its load generator and meter; bench/run.sh drives relays through it;
# bench/report.py turns the CSV into the table and the SVG plot.
noinst_PROGRAMS += bench/loadgen
bench_loadgen_SOURCES = bench/loadgen.c
bench_loadgen_CFLAGS = $(AM_CFLAGS) -pthread
bench_loadgen_LDFLAGS = -pthread
EXTRA_DIST += bench/run.sh bench/report.py

# BENCH_QUICK=1 make bench: a smaller run (3 repetitions, 64 MiB) in under two minutes.
.PHONY: bench
bench: all
	BENCH_OUT="$${BENCH_OUT:-$(abs_top_builddir)/bench-results}" \
	LOADGEN='$(abs_top_builddir)/bench/loadgen' \
	VSOCKCAT='$(abs_top_builddir)/cmd/vsockcat/vsockcat' \
	VSOCKCTL='$(abs_top_builddir)/cmd/vsockctl/vsockctl' \
	VHOST_USER_VSOCK='$(abs_top_builddir)/cmd/vhost-user-vsock/vhost-user-vsock' \
	$(SHELL) '$(abs_top_srcdir)/bench/run.sh'
