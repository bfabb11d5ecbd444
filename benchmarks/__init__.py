"""`make bench`: the performance harness (never part of `make test`). Entry point: benchmarks.run."""
