"""The embedded AWS for development and tests: moto, patched, running the real template."""
