"""Fixtures shared by the toolkit's own tests (the Greenlight plugin itself is a pytest11 entry point)."""
from tests.shared_fixtures import do, store  # noqa: F401  (registered here for every test module)
