"""The record store on SQLite (the same cases run on PostgreSQL in the lab tier), and the plans
SQLite makes of each /jobs filter."""

import pytest

from quartermaster.jobs.query import JobQuery
from quartermaster.store import RecordStore, pages
from support.job_pages import QUERIES, may_walk_the_whole_order, page_statements, seed_history
from support.settings import fresh_store_url
from support.store_cases import NOW, StoreCases

# The only whole-order walks a page may make: the unfinished jobs' partial index (as many rows
# as live jobs), and the creation order itself, for no filter or a name prefix with many jobs.
BOUNDED_WALK = "SCAN jobs USING INDEX ix_jobs_unfinished"
ORDER_WALK = "SCAN jobs USING INDEX ix_jobs_created_at_id"


class TestSqliteStore(StoreCases):
    @pytest.fixture
    def store_url(self):
        return fresh_store_url()


@pytest.fixture
def seeded_store():
    store = RecordStore(fresh_store_url())
    seed_history(store, NOW)
    yield store
    store.close()


def plans(store: RecordStore, query: JobQuery) -> list[list[str]]:
    """EXPLAIN QUERY PLAN of each statement store.page(query) runs."""
    engine = store._connection.ready()
    with engine.connect() as connection:
        return [
            [row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
            for sql, params in page_statements(store, query)
        ]


@pytest.mark.parametrize("probe_rows", [3, 5000])  # a name prefix of many jobs, of few
@pytest.mark.parametrize("query", QUERIES, ids=repr)
def test_every_filter_walks_an_index_in_page_order(seeded_store, monkeypatch, query, probe_rows):
    """No page sorts what it read, and none walks the whole history but an unfiltered one and
    a name prefix of many jobs (which meets them soon)."""
    monkeypatch.setattr(pages, "PROBE_ROWS", probe_rows)
    may_walk_in_order = may_walk_the_whole_order(query, probe_rows)
    for plan in plans(seeded_store, query):
        assert not [line for line in plan if "TEMP B-TREE" in line], plan
        for line in plan:
            if not line.startswith("SCAN") or line.startswith("SCAN anon_"):
                continue  # a SEARCH of an index, or the counting of at most PROBE_ROWS
            assert line == BOUNDED_WALK or (line == ORDER_WALK and may_walk_in_order), plan


def test_the_rarest_label_drives_a_filter_on_several(seeded_store):
    statements = page_statements(seeded_store, JobQuery(labels={"team": "t1", "rare": "yes"}))
    page = statements[-1]
    assert 'WHERE l0."key" = ? AND l0.value = ?' in page[0]  # its parameters come first
    assert list(page[1][:2]) == ["rare", "yes"]


def test_of_a_status_and_a_label_the_one_with_fewer_jobs_drives(seeded_store):
    """Six jobs failed, sixteen are of team t1: the failed jobs' index drives, and the label is
    a probe of each; of team t1 and a status most jobs have, the label's index drives."""
    rare_status = JobQuery(statuses=("failed",), labels={"team": "t1"})
    [plan] = plans(seeded_store, rare_status)[-1:]
    assert "SEARCH jobs USING INDEX ix_jobs_status_created_at_id (status=?)" in plan, plan
    assert not [line for line in plan if line.startswith("SEARCH l0")], plan
    rare_label = JobQuery(statuses=("complete", "failed", "shutdown"), labels={"team": "t1"})
    [plan] = plans(seeded_store, rare_label)[-1:]
    assert plan[0].startswith("SEARCH l0 USING COVERING INDEX"), plan
