# test/guest: filled in by its owner
