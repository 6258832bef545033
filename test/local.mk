# test: filled in by its owner
