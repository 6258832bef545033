# test/conformance: filled in by its owner
