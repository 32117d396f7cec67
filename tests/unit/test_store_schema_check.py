"""A store whose tables differ from those this quartermaster declares is told apart from one out
of reach: the master refuses to start and names each difference, a request that needs the
history is answered 503 with its own message (never "cannot be reached")."""

import logging
import subprocess
import sys

import pytest
import sqlalchemy as sa

from quartermaster.compose import compose_app
from quartermaster.jobs.errors import StoreSchemaMismatch
from quartermaster.store import RecordStore, schema_check
from quartermaster.store.connection import SCHEMA_MISMATCH
from support.api import ApiClient
from support.fake_runtime import FakeRuntime
from support.settings import fresh_store_url, make_config
from support.store_cases import FIRST_0001, NOW, a_status, all_revisions, make_database_with_0001_of

# The master's hook, in a process of its own (importing quartermaster.server patches gevent in).
RUNS_THE_MASTERS_HOOK = """
import sys
from quartermaster.process.config import Config
from quartermaster.server.gunicorn_app import prepare_store
prepare_store(Config(token="unused-here-token-16", database_url=sys.argv[1]))(None)
"""


@pytest.fixture
def store_made_by_the_first_0001_stamped_at_head(tmp_path):
    """Issue 18's store: made by 0001 as it first shipped, stamped at the newest revision."""
    url = fresh_store_url()
    make_database_with_0001_of(FIRST_0001, url, tmp_path, stamp=all_revisions()[-1])
    return url


def test_the_master_refuses_to_start_and_names_each_difference(
    store_made_by_the_first_0001_stamped_at_head,
):
    master = subprocess.run(
        [sys.executable, "-c", RUNS_THE_MASTERS_HOOK, store_made_by_the_first_0001_stamped_at_head],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert master.returncode == 1
    message = master.stderr
    assert "the record store's tables differ from this quartermaster's" in message
    for missing in (
        "column jobs.idempotency_key missing",
        "column jobs.request_hash missing",
        "column jobs.callback_state missing",
        "column jobs.callback_detail missing",
        "column jobs.callback_at missing",
        "constraint uq_jobs_idempotency_key missing",
        "table store_hosts missing",
    ):
        assert missing in message


def test_a_request_that_needs_the_history_is_told_the_schema_differs(
    store_made_by_the_first_0001_stamped_at_head, caplog
):
    config = make_config(database_url=store_made_by_the_first_0001_stamped_at_head)
    store = RecordStore(config.store_url)
    api = ApiClient(compose_app(config, FakeRuntime(config), store).test_client())
    with caplog.at_level(logging.ERROR, logger="quartermaster.store.records"):
        response = api.get("/jobs")
    assert response.status_code == 503
    assert response.get_json()["error"] == SCHEMA_MISMATCH
    assert "column jobs.callback_state missing" in caplog.text  # the log names the difference
    store.close()


def test_a_statement_naming_a_column_the_table_lacks_is_a_schema_error():
    """A difference that came after the check (a column dropped by hand) is not "unreachable"
    either."""
    url = fresh_store_url()
    store = RecordStore(url)
    store.add(a_status(), {}, 60, NOW)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE jobs DROP COLUMN callback_detail")
    engine.dispose()
    with pytest.raises(StoreSchemaMismatch) as failed:
        store.callback_outcome(a_status().id)
    assert str(failed.value) == SCHEMA_MISMATCH
    store.close()


def test_the_head_revision_known_without_alembic_is_the_newest_migration():
    assert all_revisions()[-1] == schema_check.HEAD_REVISION


# A worker: forked from a master that checked the store (in a child of its own), it opens its pool
# and reads the history; then says which heavy packages it imported.
RUNS_A_WORKER_OF_A_CHECKED_MASTER = """
import sys
import sqlalchemy as sa
from quartermaster.server.forked_upgrade import upgrade_in_a_child
from quartermaster.store import RecordStore, schema_check
url = sys.argv[1]
upgrade_in_a_child(url)
if sys.argv[2] == "stamped-since":
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
store = RecordStore(url)
try:
    print(store.size().records)
except Exception as error:
    print(type(error).__name__)
heavy = {name.split(".")[0] for name in sys.modules} & {"alembic", "docker", "requests"}
print(" ".join(sorted(heavy)))
"""


@pytest.mark.parametrize(
    ("since", "answer", "imported"),
    [
        ("unchanged", "0", ""),  # the revision read, nothing compared: no Alembic
        ("stamped-since", "StoreSchemaMismatch", "alembic"),  # compared again, and refused
    ],
)
def test_a_worker_of_a_master_that_checked_the_store_compares_only_its_revision(
    since, answer, imported
):
    worker = subprocess.run(
        [sys.executable, "-c", RUNS_A_WORKER_OF_A_CHECKED_MASTER, fresh_store_url(), since],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert worker.stdout.splitlines() == [answer, imported], worker.stderr
