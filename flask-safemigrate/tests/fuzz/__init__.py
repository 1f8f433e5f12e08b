"""Property-based tests: make fuzz."""
