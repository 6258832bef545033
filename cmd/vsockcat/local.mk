# cmd/vsockcat: filled in by its owner
