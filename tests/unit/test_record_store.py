"""The record store on SQLite (the same cases run on PostgreSQL in the lab tier)."""

import pytest

from support.settings import fresh_store_url
from support.store_cases import StoreCases


class TestSqliteStore(StoreCases):
    @pytest.fixture
    def store_url(self):
        return fresh_store_url()
