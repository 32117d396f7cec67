"""The lab's PostgreSQL, as the record store's tests assume it: reachable on its socket and, with
the password, over TCP from the host and from the lab's containers; fresh databases empty and
dropped after; stopped and started again at will; nothing secret in its log."""

import secrets
import time
from urllib.parse import urlsplit

import docker
import psycopg
import pytest
from psycopg import sql

from support.lab import this_test_labels
from support.postgres import (
    TEST_DATABASE_PREFIX,
    admin_connection,
    existing_test_databases,
    fresh_database,
    libpq_url,
    postgres_answers,
    postgres_down,
    postgres_running,
)


def connect_as_qm(postgres, host, password=None, dbname="postgres"):
    return psycopg.connect(
        host=host, port=postgres.port, user=postgres.user, dbname=dbname,
        password=postgres.password if password is None else password, connect_timeout=5,
    )  # fmt: skip


def scalar(connection, query):
    """The one value the query answers."""
    row = connection.execute(query).fetchone()
    assert row is not None, query
    return row[0]


def database_name(url):
    return urlsplit(url).path.removeprefix("/")


def test_the_superuser_logs_in_on_the_socket(postgres):
    with admin_connection() as connection:
        version = scalar(connection, "SHOW server_version")
        user = scalar(connection, "SELECT current_user")
    assert version.startswith("15.")
    assert user == postgres.admin_user


def test_qm_logs_in_over_tcp_on_loopback_and_the_bridge_with_its_password_only(postgres):
    assert postgres.addresses == ("127.0.0.1", postgres.bridge_address)
    for host in postgres.addresses:
        with connect_as_qm(postgres, host) as connection:
            row = connection.execute("SELECT current_user, inet_server_addr()::text").fetchone()
        assert row == (postgres.user, f"{host}/32")
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            connect_as_qm(postgres, host, password="not-" + postgres.password)


def test_a_container_on_a_worker_reaches_it_at_the_bridge_address(lab, postgres, docker_client):
    task_template = docker.types.TaskTemplate(
        container_spec=docker.types.ContainerSpec(
            lab.image, args=["nc", "-w", "5", postgres.bridge_address, str(postgres.port)]
        ),
        restart_policy=docker.types.RestartPolicy(condition="none"),
        placement=docker.types.Placement(constraints=["node.role==worker"]),
    )
    service = docker_client.api.create_service(task_template, labels=this_test_labels())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = [t["Status"] for t in docker_client.api.tasks(filters={"service": service["ID"]})]
        final = [s for s in states if s["State"] in ("complete", "failed", "rejected")]
        if final:
            break
        time.sleep(0.25)
    assert final, f"the container did not finish: {states}"
    assert final[0]["State"] == "complete", final[0]  # nc exits 1 if the connection is refused


def test_a_fresh_database_is_empty_owned_by_qm_and_dropped_after(postgres):
    with fresh_database() as url:
        name = database_name(url)
        assert url == (
            f"postgresql+psycopg://{postgres.user}:{postgres.password}"
            f"@127.0.0.1:{postgres.port}/{name}"
        )
        assert name.startswith(TEST_DATABASE_PREFIX)
        with psycopg.connect(libpq_url(url)) as connection:
            tables = scalar(
                connection,
                "SELECT count(*) FROM information_schema.tables"
                " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
            )
            assert tables == 0
            connection.execute("CREATE TABLE records (id int PRIMARY KEY)")  # qm owns it
            connection.execute("INSERT INTO records VALUES (1)")
            assert name in existing_test_databases()
    assert name not in existing_test_databases()


def test_each_fresh_database_is_a_new_one(postgres):
    with fresh_database() as first, fresh_database() as second:
        assert database_name(first) != database_name(second)


def test_the_postgres_url_fixture_gives_a_database_of_its_own(postgres_url):
    with psycopg.connect(libpq_url(postgres_url)) as connection:
        assert scalar(connection, "SELECT current_database()") == database_name(postgres_url)


def test_the_factory_reaches_a_database_on_the_socket_without_a_password(
    postgres, postgres_url_factory
):
    url = postgres_url_factory(postgres.socket_dir)
    assert database_name(url).startswith(TEST_DATABASE_PREFIX)
    assert postgres.password not in url
    assert url.endswith(f"?host={postgres.socket_dir}&port={postgres.port}")
    with psycopg.connect(libpq_url(url)) as connection:
        assert scalar(connection, "SELECT current_user") == postgres.user


@pytest.mark.alone  # it stops the lab's PostgreSQL
def test_while_it_is_stopped_connections_are_refused_and_after_its_data_is_there(
    postgres, postgres_url
):
    with psycopg.connect(libpq_url(postgres_url), autocommit=True) as connection:
        connection.execute("CREATE TABLE kept (value text)")
        connection.execute("INSERT INTO kept VALUES ('before the outage')")
    with postgres_down():
        assert not postgres_running()
        assert not postgres_answers()
        with pytest.raises(psycopg.OperationalError, match="Connection refused"):
            psycopg.connect(libpq_url(postgres_url), connect_timeout=5)
    assert postgres_running()
    with psycopg.connect(libpq_url(postgres_url)) as connection:
        assert connection.execute("SELECT value FROM kept").fetchall() == [("before the outage",)]


@pytest.mark.alone  # it stops the lab's PostgreSQL
def test_a_connection_open_across_an_outage_fails_then_a_new_one_works(postgres, postgres_url):
    connection = psycopg.connect(libpq_url(postgres_url))
    with postgres_down(), pytest.raises(psycopg.OperationalError):
        connection.execute("SELECT 1")
    connection.close()
    with psycopg.connect(libpq_url(postgres_url)) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)


def test_its_log_holds_failures_but_no_password(postgres):
    start = postgres.log.stat().st_size
    wrong_password = f"wrong-{secrets.token_hex(8)}"
    with pytest.raises(psycopg.OperationalError):
        connect_as_qm(postgres, "127.0.0.1", password=wrong_password)
    role, role_password = f"qm_test_role_{secrets.token_hex(4)}", secrets.token_hex(12)
    with admin_connection() as connection:
        # Setting a password, and a failing statement that carries one.
        connection.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(role_password)
            )
        )
        with pytest.raises(psycopg.errors.UndefinedTable):
            connection.execute(
                sql.SQL("SELECT {} FROM no_such_table").format(sql.Literal(role_password))
            )
        connection.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    with postgres.log.open("rb") as log:
        log.seek(start)
        text = log.read().decode(errors="replace")
    assert f'password authentication failed for user "{postgres.user}"' in text
    assert 'relation "no_such_table" does not exist' in text
    for password in (postgres.password, wrong_password, role_password):
        assert password not in text
