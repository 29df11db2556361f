"""Stand-in: see bench/device_stubs/README.md."""
