"""The API test helpers' fixtures (`api`, `make_key`) for the integrations' API tests."""

from tests.api.conftest import api, make_key

__all__ = ["api", "make_key"]
