"""A statement's bound values (a kept log's chunks, a request's fields) never reach an error's
text, and so never a log line that quotes one: every engine hides them."""

import pytest
import sqlalchemy as sa

from quartermaster.store.engine import make_engine
from support.settings import fresh_store_url

BOUND_VALUE = "a-log-line-that-must-stay-out-of-the-log"


def test_a_failed_statements_error_does_not_show_its_bound_values():
    engine = make_engine(fresh_store_url())
    try:
        with pytest.raises(sa.exc.StatementError) as failure, engine.connect() as connection:
            connection.execute(sa.text("INSERT INTO nowhere VALUES (:data)"), {"data": BOUND_VALUE})
    finally:
        engine.dispose()
    assert "INSERT INTO nowhere" in str(failure.value)  # the statement is still told
    assert BOUND_VALUE not in str(failure.value)
    assert BOUND_VALUE not in repr(failure.value)


@pytest.mark.parametrize("url", ["sqlite://", "postgresql+psycopg://qm@127.0.0.1:1/qm"])
def test_every_engine_hides_bound_values(url):
    engine = make_engine(url)
    assert engine.hide_parameters
    engine.dispose()
