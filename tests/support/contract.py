"""The contract of a job runtime, as the HTTP layer sees it: one set of cases, run against the
swarm on the lab (tests/lab/test_swarm_runtime_contract.py) and against the in-memory runtime
(tests/unit/test_fake_runtime_contract.py), so that what the unit tier shows over the fake holds
of the swarm too.

A tier runs them by subclassing `RuntimeContract` in a test module, with the fixtures:

    api         an ApiClient over compose_app(config, runtime)
    image       an image with busybox's commands
    service_of  a job's service as Docker's inspect shows it ({"ID": ..., "Spec": ...})
    pace        seconds of the lab per second of a case: how long its jobs sleep and its waits wait
            (the lab's 1; the fake runs the same cases faster)

Every command is one of the fake runtime's convention (fake_runtime.py). One module of ~480
lines: the cases are one contract, read together.
"""

import re
import time

import pytest

from quartermaster.jobs import labels
from quartermaster.jobs.history import LogKeeper
from quartermaster.swarm.spec import MIB, request_of

FULL_ID = re.compile(r"[0-9a-z]{25}")
RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z")
STATUS_KEYS = {
    "success",
    "id",
    "name",
    "tenant",
    "image",
    "status",
    "state",
    "exit_code",
    "error",
    "node",
    "created_at",
    "started_at",
    "finished_at",
    "type",
    "completions",
    "succeeded",
    "failed",
    "attempts",
    "queue_position",
    "template",
    "scheduled_for",
}
FINAL = ("complete", "failed", "rejected", "shutdown")
PRINTER = "echo out-1; echo err-1 >&2; echo out-2; echo err-2 >&2"
# What a /run may leave out for the server's defaults (MEMORY, CONSTRAINTS, HISTORY_TTL, a
# generated name), each given here.
DEFAULTED = {
    "memory": 64,
    "constraints": ["node.role!=manager"],
    "ttl": 120,
    "name": "defaults_given",
}


def three_finished_jobs(api, image) -> list[str]:
    """Three finished jobs, oldest first: two complete (team a, b), one failed (team a)."""
    ids = [
        api.run_ok(image=image, command="true", name="list_one", labels={"team": "a"}),
        api.run_ok(image=image, command="true", name="list_two", labels={"team": "b"}),
        api.run_ok(image=image, command="sh -c 'exit 2'", name="list_three", labels={"team": "a"}),
    ]
    for job_id in ids:
        api.wait_for(job_id, ["complete", "failed"])
    return ids


def running_jobs(api) -> int:
    """Runs of jobs running now, by /nodes."""
    return sum(node["running_jobs"] for node in api.get_ok("/nodes")["nodes"])


def wait_until_no_job_holds_a_node(api, timeout: float = 30) -> None:
    """A job stopped just before may still be stopping (a container gets SIGINT, then SIGKILL
    after swarm's grace period), holding its reservation meanwhile: wait until none does."""
    deadline = time.monotonic() + timeout
    while any(node["reserved_memory_mb"] for node in api.get_ok("/nodes")["nodes"]):
        assert time.monotonic() < deadline, "jobs still hold nodes"
        time.sleep(api.poll_seconds)


class RuntimeContract:
    # Running a command

    def test_a_job_goes_pending_started_complete_on_a_worker(self, api, image, pace):
        job_id = api.run_ok(image=image, command=f"sh -c 'sleep {2 * pace:g}; echo done'")
        assert FULL_ID.fullmatch(job_id)  # the full service id, as in the seed
        # What is seen goes pending -> started -> complete, in that order; a fast swarm may
        # have started the job before the first look.
        first = api.status(job_id).get_json()
        assert first["status"] in ("pending", "started"), first
        assert first["finished_at"] is None
        assert (first["status"] == "pending") == (first["started_at"] is None), first
        started = api.wait_for(job_id, "started")
        assert started["seen"] in (["pending", "started"], ["started"]), started["seen"]
        assert started["state"] == "running"
        assert started["started_at"] and started["finished_at"] is None
        document = api.wait_for(job_id, "complete")
        assert document["seen"] in (["started", "complete"], ["complete"]), document["seen"]
        assert (document["state"], document["exit_code"], document["error"]) == (
            "complete",
            0,
            None,
        )
        assert document["finished_at"] and document["started_at"] is None
        assert (document["succeeded"], document["failed"], document["attempts"]) == (1, 0, 1)
        nodes = {node["id"]: node for node in api.get_ok("/nodes")["nodes"]}
        assert nodes[document["node"]]["role"] == "worker"

    def test_a_non_zero_exit_fails_with_its_code(self, api, image):
        job_id = api.run_ok(image=image, command="sh -c 'exit 3'")
        document = api.wait_for(job_id, FINAL)
        assert (document["status"], document["state"]) == ("failed", "failed")
        assert (document["exit_code"], document["error"]) == (3, "task: non-zero exit (3)")
        assert (document["succeeded"], document["failed"], document["attempts"]) == (0, 1, 1)

    def test_a_command_that_cannot_start_is_rejected_with_the_reason(self, api, image):
        job_id = api.run_ok(image=image, command="node index.js")
        document = api.wait_for(job_id, FINAL)
        assert (document["status"], document["exit_code"]) == ("rejected", None)
        assert 'exec: "node": executable file not found' in document["error"]
        assert document["failed"] == 1

    def test_an_omitted_command_runs_the_image_default(self, api, image):
        job_id = api.run_ok(image=image)  # CMD ["sh"] with no input exits 0
        assert api.wait_for(job_id, FINAL)["status"] == "complete"

    def test_a_job_no_node_can_take_is_pending_saying_why(self, api, image):
        # The configured node.role==worker stays: a client narrows placement, never lifts it.
        job_id = api.run_ok(image=image, command="true", constraints=["node.role==manager"])
        document = api.wait_until(job_id, lambda document: document["error"])
        assert (document["status"], document["state"], document["node"]) == (
            "pending",
            "pending",
            None,
        )
        nodes = len(api.get_ok("/nodes")["nodes"])
        assert document["error"] == (
            f"no suitable node (scheduling constraints not satisfied on {nodes} nodes)"
        )

    def test_a_job_with_completions_runs_them_at_most_parallelism_at_once(self, api, image, pace):
        wait_until_no_job_holds_a_node(api)
        job_id = api.run_ok(
            image=image, command=f"sleep {pace:g}", type="job", completions=3, parallelism=2
        )
        most_at_once, deadline = 0, time.monotonic() + 60
        while (document := api.status(job_id).get_json())["status"] in ("pending", "started"):
            most_at_once = max(most_at_once, running_jobs(api))
            assert time.monotonic() < deadline, document
            time.sleep(api.poll_seconds)
        assert document["status"] == "complete"
        assert (document["type"], document["completions"], document["succeeded"]) == ("job", 3, 3)
        assert (document["failed"], document["attempts"]) == (0, 3)
        assert 1 <= most_at_once <= 2

    def test_a_job_is_failed_when_a_run_fails_and_stays_so(self, api, image, pace):
        job_id = api.run_ok(image=image, command="sh -c 'exit 5'", type="job", completions=2)
        document = api.wait_for(job_id, FINAL)
        assert (document["status"], document["exit_code"], document["succeeded"]) == (
            "failed",
            5,
            0,
        )
        # Swarm starts no other run of it, and the status does not move.
        time.sleep(5 * pace)
        later = api.status(job_id).get_json()
        assert (later["status"], later["attempts"], later["failed"]) == ("failed", 1, 1), later

    def test_retries_are_attempted_and_counted(self, api, image):
        job_id = api.run_ok(image=image, command="sh -c 'exit 4'", retries=2)
        document = api.wait_for(job_id, FINAL, timeout=90)
        # Between attempts the job is not failed yet: only after the last one.
        assert (document["status"], document["attempts"], document["failed"]) == ("failed", 3, 3)
        assert document["exit_code"] == 4

    # Status, stop and references

    def test_the_status_document_has_exactly_the_documented_fields(self, api, image):
        job_id = api.run_ok(image=image, command="sleep 30", name="status_fields")
        body = api.status(job_id).get_json()
        assert set(body) == STATUS_KEYS
        assert body["success"] is True
        assert (body["id"], body["name"], body["image"]) == (job_id, "status_fields", image)
        assert body["tenant"] is None  # the operator's job
        assert (body["template"], body["scheduled_for"]) == (None, None)  # run, not dispatched
        assert (body["type"], body["completions"]) == ("service", 1)
        assert RFC3339.fullmatch(body["created_at"])

    @pytest.mark.parametrize("how", ["id", "prefix", "name"])
    def test_status_and_stop_by_id_prefix_or_name(self, api, image, how):
        job_id = api.run_ok(image=image, command="sleep 60", name=f"by_{how}")
        reference = {"id": job_id, "prefix": job_id[:8], "name": f"by_{how}"}[how]
        assert api.status(reference).get_json()["id"] == job_id
        response = api.stop(reference)
        assert response.status_code == 200
        assert response.get_json() == {"success": True, "id": job_id}
        # Its service is gone; its record stays, by the same references, and in /jobs.
        body = api.status(reference).get_json()
        assert (body["id"], body["status"], body["state"]) == (job_id, "shutdown", "shutdown")
        assert RFC3339.fullmatch(body["finished_at"])
        listed = {job["id"]: job for job in api.get_ok("/jobs")["jobs"]}
        assert listed[job_id]["status"] == "shutdown"
        # Stopped again: nothing to stop; the same answer, the record unchanged.
        assert api.stop(reference).get_json() == {"success": True, "id": job_id}
        assert api.status(job_id).get_json() == body

    def test_unknown_jobs_are_404(self, api):
        for response in (api.status("nosuchjob"), api.stop("nosuchjob"), api.get("/logs/nosuch")):
            assert response.status_code == 404
            body = response.get_json()
            assert (body["success"], body["code"], body["error"]) == (False, 404, "no such job")

    def test_a_name_shaped_like_another_jobs_id_prefix_does_not_take_it_over(self, api, image):
        """The attack: name a job like a prefix of someone else's job id, to get that prefix's
        /status, /logs and /stop. A reference that could mean two jobs is refused instead."""
        victim = api.run_ok(image=image, command="sleep 60")
        prefix = victim[:6]  # letters and digits: a valid service name
        shadow = api.run_ok(image=image, command="sleep 60", name=prefix)
        for response in (api.status(prefix), api.get(f"/logs/{prefix}"), api.stop(prefix)):
            assert response.status_code == 409
            body = response.get_json()
            assert (body["success"], body["code"]) == (False, 409)
            assert (
                body["error"] == "more than one job matches this reference; use the job's full id"
            )
        assert api.status(victim).get_json()["id"] == victim
        assert api.status(shadow).get_json()["name"] == prefix
        # Once the victim is gone, the name means one job again.
        assert api.stop(victim).status_code == 200
        assert api.status(prefix).get_json()["id"] == shadow

    def test_an_id_prefix_of_several_jobs_is_409(self, api, image):
        first_of = {}
        job_id = api.run_ok(image=image, command="sleep 60", memory=8)
        while job_id[0] not in first_of:  # ids are random: some two soon share a first character
            first_of[job_id[0]] = job_id
            job_id = api.run_ok(image=image, command="sleep 60", memory=8)
        shared = job_id[0]
        assert api.status(shared).status_code == 409
        assert api.stop(shared).status_code == 409
        for each in (job_id, first_of[shared]):
            assert api.status(each).get_json()["id"] == each

    def test_a_name_in_use_is_409(self, api, image):
        api.run_ok(image=image, command="sleep 30", name="taken")
        response = api.run(image=image, command="sleep 30", name="taken")
        assert response.status_code == 409
        body = response.get_json()
        assert (body["success"], body["code"]) == (False, 409)
        assert "name conflicts with an existing object" in body["error"]
        assert len(api.job_ids("?name=taken")) == 1

    def test_an_unnamed_job_gets_a_unique_name(self, api, image):
        job_ids = [api.run_ok(image=image, command="true") for _ in range(3)]
        names = {api.status(job_id).get_json()["name"] for job_id in job_ids}
        assert len(names) == 3
        assert all(re.fullmatch(r"job-[0-9a-f]{16}", name) for name in names), names

    @pytest.mark.parametrize(
        "given",
        [[], *([field] for field in DEFAULTED), list(DEFAULTED)],
        ids=lambda given: "+".join(given) or "none",
    )
    def test_the_history_holds_what_the_service_spec_holds(self, api, image, service_of, given):
        """A job runs with the server's defaults for what its request left out, and its record
        says so: /history's request is what its service says (as the reaper reads a service it
        imports), for each defaulted field given or not."""
        settings = api.client.application.settings
        asked = {field: DEFAULTED[field] for field in given}
        job_id = api.run_ok(image=image, command="true", **asked)
        request = api.get_ok(f"/history/{job_id}")["request"]
        spec = service_of(job_id)["Spec"]
        held = request_of({"Spec": spec})
        held["memory"] = held.pop("memory_mb")  # /run's and /history's name for it
        assert request == held
        assert request["memory"] == asked.get("memory", settings.memory_mb)
        assert request["constraints"] == [*settings.constraints, *asked.get("constraints", [])]
        assert request["ttl"] == asked.get("ttl", settings.ttl)
        name = api.status(job_id).get_json()["name"]
        assert request["name"] == name == asked.get("name", name)
        assert "name" in asked or re.fullmatch(r"job-[0-9a-f]{16}", name)
        # In the spec's own terms: the memory limit and reservation, placement, the ttl label.
        resources = spec["TaskTemplate"]["Resources"]
        memory_bytes = request["memory"] * MIB
        assert resources["Limits"]["MemoryBytes"] == memory_bytes
        assert resources["Reservations"]["MemoryBytes"] == memory_bytes
        assert spec["TaskTemplate"]["Placement"]["Constraints"] == request["constraints"]
        assert spec["Labels"][labels.TTL] == str(request["ttl"])
        assert spec["Name"] == name

    # Waiting

    def test_wait_answers_once_the_job_is_final(self, api, image, pace):
        job_id = api.run_ok(image=image, command=f"sh -c 'sleep {2 * pace:g}; exit 6'")
        response = api.status(job_id, "?wait=30")
        assert response.status_code == 200
        document = response.get_json()
        assert (document["status"], document["exit_code"]) == ("failed", 6)

    def test_wait_gives_up_after_the_given_seconds(self, api, image, pace):
        job_id = api.run_ok(image=image, command="sleep 60")
        api.wait_for(job_id, "started")
        started = time.monotonic()
        response = api.status(job_id, f"?wait={1.5 * pace:g}")
        assert 1.5 * pace <= time.monotonic() - started < 1.5 * pace + 5
        assert response.get_json()["status"] == "started"

    # Lists

    def test_jobs_newest_first_filtered_and_paged(self, api, image):
        three = three_finished_jobs(api, image)
        body = api.get_ok("/jobs")
        assert [job["id"] for job in body["jobs"]] == list(reversed(three))
        assert body["next_cursor"] is None
        status = api.status(three[2]).get_json()
        status.pop("success")
        assert body["jobs"][0] == status  # as /status renders it
        # Filters
        assert api.job_ids("?status=failed") == [three[2]]
        assert api.job_ids("?status=complete&status=failed") == list(reversed(three))
        assert api.job_ids("?label=team=a") == [three[2], three[0]]
        assert api.job_ids("?label=team=a&status=complete") == [three[0]]
        assert api.job_ids("?label=team=a&name=list_t") == [three[2]]
        assert api.job_ids("?image=" + image) == list(reversed(three))
        assert api.job_ids("?name=list_two") == [three[1]]
        assert api.job_ids("?status=started") == []
        # Pages
        first = api.get_ok("/jobs?limit=2")
        assert [job["id"] for job in first["jobs"]] == [three[2], three[1]]
        second = api.get_ok(f"/jobs?limit=2&cursor={first['next_cursor']}")
        assert [job["id"] for job in second["jobs"]] == [three[0]]
        assert second["next_cursor"] is None

    def test_a_pages_etag_holds_until_the_page_changes(self, api, image):
        def page(query: str, if_none_match: str | None = None):
            headers = {**api.headers, **({"If-None-Match": if_none_match} if if_none_match else {})}
            return api.client.get(f"/jobs{query}", headers=headers)

        first = api.run_ok(image=image, command="true", name="tagged_one")
        api.wait_for(first, "complete")
        listed = page("?name=tagged_")
        tag = listed.headers["ETag"]
        unchanged = page("?name=tagged_", tag)
        assert (unchanged.status_code, unchanged.get_data()) == (304, b"")
        assert unchanged.headers["ETag"] == tag
        assert page("?name=tagged_&limit=1").headers["ETag"] != tag  # another page
        second = api.run_ok(image=image, command="true", name="tagged_two")
        changed = page("?name=tagged_", tag)
        assert changed.status_code == 200
        assert [job["id"] for job in changed.get_json()["jobs"]] == [second, first]
        assert changed.headers["ETag"] != tag

    # Idempotency-Key

    def test_a_retry_with_the_same_key_is_the_same_job(self, api, image):
        first = api.run_with_key("order-1", image=image, command="sleep 30")
        again = api.run_with_key("order-1", image=image, command="sleep 30")
        assert first.status_code == again.status_code == 200
        assert first.get_json()["id"] == again.get_json()["id"]
        assert api.job_ids() == [first.get_json()["id"]]
        other = api.run_with_key("order-2", image=image, command="sleep 30")
        assert other.get_json()["id"] != first.get_json()["id"]

    def test_the_same_key_with_a_different_request_is_409(self, api, image):
        api.run_with_key("order-3", image=image, command="sleep 30")
        response = api.run_with_key("order-3", image=image, command="sleep 31")
        assert response.status_code == 409
        assert (
            response.get_json()["error"] == "this Idempotency-Key was used with a different request"
        )

    def test_a_key_with_a_name_of_its_own(self, api, image):
        first = api.run_with_key("order-4", image=image, command="sleep 30", name="named_job")
        again = api.run_with_key("order-4", image=image, command="sleep 30", name="named_job")
        assert first.get_json()["id"] == again.get_json()["id"]
        assert api.status(first.get_json()["id"]).get_json()["name"] == "named_job"
        # The name without the key is just a name in use.
        assert api.run(image=image, command="sleep 30", name="named_job").status_code == 409

    def test_the_same_key_with_another_name_is_409_and_starts_nothing(self, api, image):
        first = api.run_with_key("order-5", image=image, command="sleep 30", name="key_a")
        other = api.run_with_key("order-5", image=image, command="sleep 30", name="key_b")
        assert first.status_code == 200
        assert other.status_code == 409
        assert "Idempotency-Key" in other.get_json()["error"]
        again = api.run_with_key("order-5", image=image, command="sleep 30", name="key_a")
        assert (again.status_code, again.get_json()["id"]) == (200, first.get_json()["id"])
        assert api.job_ids("?name=key_") == [first.get_json()["id"]]
        # The key is remembered as long as its job's record: after its service is gone too.
        assert api.stop(first.get_json()["id"]).status_code == 200
        after = api.run_with_key("order-5", image=image, command="sleep 30", name="key_b")
        assert after.status_code == 409
        same = api.run_with_key("order-5", image=image, command="sleep 30", name="key_a")
        assert (same.status_code, same.get_json()["id"]) == (200, first.get_json()["id"])
        assert api.status(first.get_json()["id"]).get_json()["status"] == "shutdown"

    # Logs

    def test_logs_have_both_streams_filtered_as_asked(self, api, image):
        job_id = api.run_ok(image=image, command=["sh", "-c", PRINTER])
        api.wait_for(job_id, "complete")
        text = api.wait_for_lines(job_id, 4)
        assert sorted(text.splitlines()) == ["err-1", "err-2", "out-1", "out-2"]
        assert api.logs(job_id, "?stream=stdout").splitlines() == ["out-1", "out-2"]
        assert api.logs(job_id, "?stream=stderr").splitlines() == ["err-1", "err-2"]
        tail = api.logs(job_id, "?tail=3").splitlines()
        assert len(tail) == 3 and set(tail) < {"out-1", "out-2", "err-1", "err-2"}
        assert api.logs(job_id, "?tail=0") == ""
        stamped = api.logs(job_id, "?stream=stdout&timestamps=true").splitlines()
        assert [line.split(" ", 1)[1] for line in stamped] == ["out-1", "out-2"]
        assert all(RFC3339.fullmatch(line.split(" ", 1)[0]) for line in stamped)
        assert api.logs(job_id, f"?since={time.time() + 3600:.0f}") == ""

    def test_tail_counts_the_lines_of_the_stream_asked_for(self, api, image):
        # The last lines went to stderr: Docker alone would count them for stdout's tail too.
        printer = "echo out-1; echo out-2; echo out-3; echo err-1 >&2; echo err-2 >&2"
        job_id = api.run_ok(image=image, command=["sh", "-c", printer])
        api.wait_for(job_id, "complete")
        api.wait_for_lines(job_id, 5)
        assert api.logs(job_id, "?tail=2&stream=stdout").splitlines() == ["out-2", "out-3"]
        assert api.logs(job_id, "?tail=1&stream=stderr").splitlines() == ["err-2"]
        assert api.logs(job_id, "?tail=10&stream=stdout").splitlines() == [
            "out-1",
            "out-2",
            "out-3",
        ]
        stamped = api.logs(job_id, "?tail=1&stream=stdout&timestamps=true").splitlines()
        assert [line.split(" ", 1)[1] for line in stamped] == ["out-3"]
        followed = api.logs(job_id, "?tail=2&stream=stdout&follow=true")  # ends: the job is final
        assert followed.splitlines() == ["out-2", "out-3"]

    def test_a_log_set_aside_outlasts_the_runs_of_its_job(self, api, image, pace):
        """What /stop and the reaper keep of a job they halt while its record cannot be written
        (halting drops the runs, and their output with them)."""
        runtime = api.client.application.jobs.runtime
        printer = f"echo kept-out; echo kept-err >&2; sleep {30 * pace}"
        job_id = api.run_ok(image=image, command=["sh", "-c", printer])
        api.wait_for_lines(job_id, 2)
        captured = runtime.capture_log(job_id, 4096)
        runtime.set_log_aside(job_id, captured)
        runtime.halt_job(job_id)
        api.wait_until(job_id, lambda status: api.logs(job_id) == "", timeout=30)
        runtime.set_log_aside(job_id, LogKeeper(4096))  # later, nothing to keep: the first stays
        for kept in (runtime.capture_log(job_id, 4096), captured):
            texts = sorted((line.stream, line.text) for line in kept.lines)
            assert texts == [(1, b"kept-out\n"), (2, b"kept-err\n")] and not kept.truncated
        newest = captured.lines[-1]
        smaller = runtime.capture_log(job_id, len(newest.line))  # cut as a capture cuts
        assert [line.line for line in smaller.lines] == [newest.line] and smaller.truncated

    def test_a_followed_log_streams_while_the_job_prints_and_ends_with_it(self, api, image, pace):
        script = "; ".join(f"echo tick-{i}; sleep {pace:g}" for i in range(1, 4))
        job_id = api.run_ok(image=image, command=["sh", "-c", script])
        response = api.client.get(
            f"/logs/{job_id}?follow=true", headers=api.headers, buffered=False
        )
        assert response.status_code == 200
        text, statuses_while_reading = "", set()
        for chunk in response.response:
            text += chunk.decode()
            statuses_while_reading.add(api.status(job_id).get_json()["status"])
        response.close()
        # The stream ended by itself, after every line, and lines arrived while the job ran.
        assert text.splitlines() == ["tick-1", "tick-2", "tick-3"]
        assert "started" in statuses_while_reading
        assert api.status(job_id).get_json()["status"] == "complete"

    # Nodes and health

    def test_nodes_report_reservations_of_running_jobs(self, api, image):
        wait_until_no_job_holds_a_node(api)
        job_id = api.run_ok(image=image, command="sleep 60", memory=300, cpus=0.5)
        node_id = api.wait_for(job_id, "started")["node"]
        nodes = {node["id"]: node for node in api.get_ok("/nodes")["nodes"]}
        busy = nodes[node_id]
        assert (busy["role"], busy["state"], busy["availability"]) == ("worker", "ready", "active")
        assert (busy["reserved_memory_mb"], busy["reserved_cpus"], busy["running_jobs"]) == (
            300,
            0.5,
            1,
        )
        assert busy["free_memory_mb"] == busy["memory_mb"] - 300
        assert busy["free_cpus"] == busy["cpus"] - 0.5
        idle = [node for node in nodes.values() if node["id"] != node_id]
        assert all(node["reserved_memory_mb"] == 0 and node["running_jobs"] == 0 for node in idle)

    def test_health_and_readiness_count_the_nodes_listed(self, api):
        nodes = api.get_ok("/nodes")["nodes"]
        workers = [node for node in nodes if node["role"] == "worker"]
        health = api.client.get("/healthz").get_json()
        assert health["swarm"] == {
            "managers": len(nodes) - len(workers),
            "workers": len(workers),
            "ready_workers": sum(1 for node in workers if node["state"] == "ready"),
        }
        assert api.client.get("/readyz").get_json() == {"success": True, "ready": True}
