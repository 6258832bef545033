#!/usr/bin/env bats
# conformance.bats: the conformance program's command line on the host. Only modes that
# never connect run here (--list, usage errors, a peer that cannot be set up); the cases
# themselves run in the QEMU guest (test/guest/kernel.test).

load ../helpers
bats_require_minimum_version 1.5.0

CONFORMANCE="$abs_top_builddir/test/conformance/vsock-conformance"

@test "--list names every case once, with its group and what it proves" {
    run_limited 10 "$CONFORMANCE" --list
    assert_success
    [ "${#lines[@]}" -ge 25 ]
    dups=$(printf '%s\n' "${lines[@]}" | cut -f1 | sort | uniq -d)
    [ -z "$dups" ]
    for line in "${lines[@]}"; do
        [[ $line =~ ^[a-z_]+$'\t'(main|no-transport)$'\t'.+ ]] || { echo "bad line: $line"; false; }
    done
    assert_line --regexp '^large_transfer	main	'
    assert_line --regexp '^no_transport_connect_enodev	no-transport	'
}

@test "an unknown peer is a usage error (exit 2)" {
    run --separate-stderr timeout 10 "$CONFORMANCE" --peer bogus
    assert_failure 2
    [[ $stderr == *"--peer bogus: want local or hybrid:UDS_PATH"* ]]
}

@test "the hybrid peer needs its Unix socket path: exit 1 before any case" {
    run --separate-stderr timeout 10 "$CONFORMANCE" --peer hybrid:
    assert_failure 1
    [[ $stderr == *"--peer hybrid:: peer 'hybrid:UDS_PATH' needs a path"* ]]
    [ -z "$output" ]
}

@test "an unknown group, a stray argument or a bad CID is a usage error (exit 2)" {
    run --separate-stderr timeout 10 "$CONFORMANCE" --group everything
    assert_failure 2
    [[ $stderr == *"--group everything: want main or no-transport"* ]]
    run --separate-stderr timeout 10 "$CONFORMANCE" extra-argument
    assert_failure 2
    run --separate-stderr timeout 10 "$CONFORMANCE" --blackhole-cid banana
    assert_failure 2
    [[ $stderr == *"--blackhole-cid banana"* ]]
}
