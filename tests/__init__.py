"""myapp tests."""
