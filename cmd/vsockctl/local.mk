# cmd/vsockctl: filled in by its owner
