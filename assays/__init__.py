"""Characterisation of EV batches: assay runs, results, size distributions, markers, specs."""
