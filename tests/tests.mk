# Test binaries; tests/run.sh runs them.
.PHONY: tests
tests:
