"""Batches of EVs: products, cell sources, production runs, isolation, storage, release."""
