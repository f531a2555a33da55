"""Developer tools behind `make`: model fingerprints, training, checks, the dev runner."""
