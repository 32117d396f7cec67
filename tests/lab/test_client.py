"""The Python client against a real server on the lab: a job's outcome and output, a followed
log, pages of jobs, stop, the server's errors as exceptions, and /run retried without a second
job."""

import contextlib
import socket
import threading
import uuid

import pytest

import quartermaster.client.client
from quartermaster.client import Client, InvalidRequest, NotFound, Unauthorized
from support.lab import NEVER_PLACED, pipe, wait_until
from support.settings import TOKEN

OUT_ERR_EXIT_3 = ["sh", "-c", "echo to-out; echo to-err >&2; exit 3"]


def test_a_failed_job_its_exit_code_and_its_output(lab, qm_client):
    job_id = qm_client.run(lab.image, OUT_ERR_EXIT_3, name=f"client-{uuid.uuid4().hex[:8]}")
    job = qm_client.wait(job_id, timeout=60)
    assert (job.id, job.status, job.exit_code, job.is_final) == (job_id, "failed", 3, True)
    assert job.created_at <= job.finished_at
    assert sorted(qm_client.logs(job_id)) == ["to-err", "to-out"]
    assert list(qm_client.logs(job_id, stream="stdout")) == ["to-out"]
    assert list(qm_client.logs(job.name, stream="stderr")) == ["to-err"]
    [stamped] = qm_client.logs(job_id, stream="stdout", timestamps=True)
    assert stamped.endswith("Z to-out")


def test_a_follow_gives_each_line_while_the_job_runs(lab, qm_client):
    script = "for i in 1 2 3; do echo tick-$i; sleep 1; done"
    job_id = qm_client.run(lab.image, ["sh", "-c", script])
    lines, statuses_while_reading = [], set()
    for line in qm_client.logs(job_id, follow=True):
        lines.append(line)
        statuses_while_reading.add(qm_client.status(job_id).status)
    assert lines == ["tick-1", "tick-2", "tick-3"]
    assert "started" in statuses_while_reading
    assert qm_client.status(job_id).status == "complete"


SILENCES = "echo a; sleep 3; echo b; echo b; sleep 3; echo c >&2"


def test_a_follow_outlasts_silences_longer_than_its_read_timeout(lab, qm_client, monkeypatch):
    monkeypatch.setattr(quartermaster.client.client, "FOLLOW_READ_SECONDS", 1.0)
    job_id = qm_client.run(lab.image, ["sh", "-c", SILENCES])
    assert list(qm_client.logs(job_id, follow=True)) == ["a", "b", "b", "c"]


def test_a_follow_outlasts_the_servers_longest_follow(lab, live_server_factory):
    # The job prints for 6 s; the server ends each follow after 2.
    server = live_server_factory(env={"FOLLOW_MAX_SECONDS": "2"})
    with Client(server.url, token=TOKEN) as to_that_server:
        job_id = to_that_server.run(lab.image, ["sh", "-c", SILENCES])
        assert list(to_that_server.logs(job_id, follow=True)) == ["a", "b", "b", "c"]


def test_jobs_are_listed_newest_first_across_pages(lab, qm_client):
    mark = {"client-test": uuid.uuid4().hex}
    made = [qm_client.run(lab.image, "true", labels=mark) for _ in range(5)]
    listed = list(qm_client.jobs(labels=mark, page_size=2))
    assert [job.id for job in listed] == made[::-1]
    assert [job.id for job in qm_client.jobs(labels=mark, page_size=2, limit=3)] == made[:1:-1]


def test_stop_a_running_job_and_again(lab, qm_client):
    job_id = qm_client.run(lab.image, "sleep 300")
    assert qm_client.stop(job_id[:12]) == job_id
    assert qm_client.status(job_id).status == "shutdown"
    assert qm_client.stop(job_id) == job_id  # stopping a stopped job changes nothing


def test_a_jobs_history_its_request_and_its_timeline(lab, qm_client):
    job_id = qm_client.run(
        lab.image, ["sh", "-c", "exit 0"], env={"SECRET_VALUE": "not-kept"}, labels={"a": "b"}
    )
    assert qm_client.wait(job_id, timeout=60).status == "complete"
    wait_until(
        lambda: qm_client.history(job_id).timeline[-1].status == "complete",
        timeout=30,
        message="the reaper never recorded the job's end",
    )
    history = qm_client.history(job_id)
    assert history.id == job_id
    assert history.request["image"] == lab.image
    assert history.request["command"] == ["sh", "-c", "exit 0"]
    assert history.request["labels"] == {"a": "b"}
    assert history.request["env"] == {"SECRET_VALUE": None}
    assert history.timeline[0].status == "pending"
    assert [entry.at for entry in history.timeline] == sorted(e.at for e in history.timeline)
    with pytest.raises(NotFound):
        qm_client.history("no-such-job-here")


def test_nodes_and_health(lab, qm_client):
    workers = [node for node in qm_client.nodes() if node.role == "worker"]
    assert len(workers) == lab.workers
    assert all(node.memory_mb > 0 and node.state == "ready" for node in workers)
    health = qm_client.health()
    assert health["success"] is True and health["docker"] == "ok"


def test_the_servers_errors_as_exceptions(lab, qm_client, live_server):
    with pytest.raises(NotFound) as missing:
        qm_client.status("no-such-job-here")
    assert missing.value.code == 404 and missing.value.request_id
    with pytest.raises(InvalidRequest) as invalid:
        qm_client.run(lab.image, memory=1)
    assert invalid.value.code == 400 and list(invalid.value.fields) == ["memory"]
    with pytest.raises(Unauthorized):
        Client(live_server.url, token="not-the-token").nodes()


def test_the_same_idempotency_key_gives_one_job(lab, qm_client):
    key = f"client-{uuid.uuid4()}"
    first = qm_client.run(lab.image, "true", constraints=NEVER_PLACED, idempotency_key=key)
    again = qm_client.run(lab.image, "true", constraints=NEVER_PLACED, idempotency_key=key)
    assert first == again


def test_a_run_whose_answer_was_lost_is_sent_again_and_starts_one_job(lab, live_server):
    mark = {"client-test": uuid.uuid4().hex}
    with AnswerLosingProxy(live_server.port) as proxy:
        job_id = Client(proxy.url, token=TOKEN).run(lab.image, "true", labels=mark)
    assert proxy.lost_answers and b'"success":true' in proxy.lost_answers[0]
    assert job_id.encode() in proxy.lost_answers[0]  # the retry answered the first job's id
    assert [job.id for job in Client(live_server.url, token=TOKEN).jobs(labels=mark)] == [job_id]


class AnswerLosingProxy:
    """Loopback to the server; the first request reaches it, its answer never reaches the client
    (the connection closes): what a client sees when a network drops mid-request."""

    def __init__(self, port: int):
        self.port = port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.lost_answers: list[bytes] = []

    def __enter__(self):
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *_):
        self.listener.close()

    def _serve(self):
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.port), timeout=30)
                if not self.lost_answers:
                    self._lose_the_answer(client, upstream)
                    continue
                threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
                threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

    def _lose_the_answer(self, client: socket.socket, upstream: socket.socket) -> None:
        upstream.sendall(_one_message(client))
        self.lost_answers.append(_one_message(upstream))
        client.close()
        upstream.close()


def _one_message(sock: socket.socket) -> bytes:
    """One HTTP message with a Content-Length body, read whole from `sock`."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )  # fmt: skip
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body
