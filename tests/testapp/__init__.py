"""A test-only app: models that exercise evqc's fields before the domain models use them."""
