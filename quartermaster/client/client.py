"""The client of quartermaster's HTTP API: a typed method per endpoint.

from quartermaster.client import Client

qm = Client()  # QM_URL, QM_TOKEN / QM_TOKEN_FILE
job_id = qm.run("qm/busybox:latest", ["sh", "-c", "echo hi"], memory=64)
for line in qm.logs(job_id, follow=True):
    print(line)
print(qm.status(job_id, wait=60).exit_code)
"""

import base64
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from quartermaster.client.errors import Unavailable
from quartermaster.client.logs import FOLLOW_READ_SECONDS, followed_lines, lines_of
from quartermaster.client.models import (
    AuditEntry,
    History,
    Identity,
    Job,
    Key,
    Node,
    Template,
    TemplateRun,
    Tenant,
    Usage,
)
from quartermaster.client.retries import (
    NO_RETRIES,
    READ_RETRIES,
    RUN_RETRIES,
    STOP_RETRIES,
    RetryPolicy,
    with_retries,
)
from quartermaster.client.transport import Timeout, Transport, chunks_of

DEFAULT_URL = "http://localhost:9090"
WAIT_MARGIN_SECONDS = 10.0  # a /status?wait answer may come this much after its wait
USER_AGENT = "quartermaster-client"
Labels = Mapping[str, str]


class Client:
    """One quartermaster server. `url`: the argument, else QM_URL, else http://localhost:9090.
    The token: the argument, else the file `token_file` or QM_TOKEN_FILE names (its content,
    stripped), else QM_TOKEN. `timeout`: seconds to connect, and to wait for each read of an
    answer (long requests wait longer: see `status` and `logs`). A token for a plain http://
    URL of another host is warned about (PlainHttpTokenWarning, once per server)."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        token_file: str | Path | None = None,
        timeout: float = 10.0,
    ):
        self.url = url or os.environ.get("QM_URL") or DEFAULT_URL
        self.timeout = timeout
        self._http = Transport(self.url, token or _token_from_env(token_file), USER_AGENT)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def run(
        self,
        image: str,
        command: str | Sequence[str] | None = None,
        *,
        name: str | None = None,
        memory: int | None = None,
        cpus: float | None = None,
        env: Mapping[str, str] | None = None,
        labels: Labels | None = None,
        constraints: Sequence[str] | None = None,
        type: str | None = None,  # the field of the API
        completions: int | None = None,
        parallelism: int | None = None,
        retries: int | None = None,
        timeout: int | None = None,
        ttl: int | None = None,
        callback_url: str | None = None,
        auth: str | None = None,
        idempotency_key: str | None = None,
    ) -> str:
        """Start a job; its id. Sent again on no answer, 503 or 429 (RUN_RETRIES) with the same
        Idempotency-Key (a new uuid4 unless given), so a retry never starts a second job."""
        fields = {
            "image": image,
            "command": command if command is None or isinstance(command, str) else list(command),
            "name": name,
            "memory": memory,
            "cpus": cpus,
            "env": dict(env) if env is not None else None,
            "labels": dict(labels) if labels is not None else None,
            "constraints": list(constraints) if constraints is not None else None,
            "type": type,
            "completions": completions,
            "parallelism": parallelism,
            "retries": retries,
            "timeout": timeout,
            "ttl": ttl,
            "callback_url": callback_url,
            "auth": auth,
        }
        body = {key: value for key, value in fields.items() if value is not None}
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        document = self._json("POST", "/run", RUN_RETRIES, json=body, headers=headers)
        return document["id"]

    def status(self, ref: str, wait: float | None = None) -> Job:
        """Where the job stands (`ref`: its id, name or id prefix). With `wait` (seconds, at
        most 60), the answer comes once the job is final or `wait` has passed."""
        params = None if wait is None else {"wait": _number(wait)}
        read = None if wait is None else wait + WAIT_MARGIN_SECONDS
        return Job.from_document(
            self._json(
                "GET", f"/status/{_path(ref)}", READ_RETRIES, params=params, read_timeout=read
            )
        )

    def wait(self, ref: str, timeout: float | None = None, poll: float = 30.0) -> Job:
        """The job once it is final (long polls of `poll` seconds), or as it stands after
        `timeout` seconds (None: however long it takes)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic()))
            job = self.status(ref, wait=left)
            if job.is_final or (deadline is not None and time.monotonic() >= deadline):
                return job

    def stop(self, ref: str) -> str:
        """Stop the job; its full id. Stopping a job that has ended changes nothing."""
        return self._json("POST", "/stop", STOP_RETRIES, json={"id": ref})["id"]

    def jobs(
        self,
        status: str | Sequence[str] | None = None,
        labels: Labels | None = None,
        name: str | None = None,
        image: str | None = None,
        created_after: datetime | float | None = None,
        finished_before: datetime | float | None = None,
        page_size: int = 100,
        limit: int | None = None,
        tenant: str | None = None,
        template: str | None = None,
    ) -> Iterator[Job]:
        """Jobs newest first, read a page at a time as the iteration reaches it; at most
        `limit` of them (None: all). `tenant`: that tenant's jobs only (the operator's token;
        a tenant's key sees its own alone anyway). `template`: the jobs made from it."""
        statuses = [status] if isinstance(status, str) else list(status or [])
        params: dict[str, Any] = {
            "status": statuses,
            "label": [f"{key}={value}" for key, value in (labels or {}).items()],
            "name": name,
            "image": image,
            "tenant": tenant,
            "template": template,
            "created_after": _epoch(created_after),
            "finished_before": _epoch(finished_before),
            "limit": page_size if limit is None else min(page_size, limit),
        }
        for document in self._pages("/jobs", "jobs", params, limit):
            yield Job.from_document(document)

    def logs(
        self,
        ref: str,
        follow: bool = False,
        tail: int | None = None,
        since: datetime | float | None = None,
        timestamps: bool = False,
        stream: str | None = None,
    ) -> Iterator[str]:
        """The job's output, a line at a time (without its newline; bytes that are not UTF-8
        replaced), each as it arrives; a line longer than 64 KiB comes in pieces. See
        `log_bytes`."""
        for line in self.log_bytes(ref, follow, tail, since, timestamps, stream):
            yield line.removesuffix(b"\n").decode("utf-8", errors="replace")

    def log_bytes(
        self,
        ref: str,
        follow: bool = False,
        tail: int | None = None,
        since: datetime | float | None = None,
        timestamps: bool = False,
        stream: str | None = None,
    ) -> Iterator[bytes]:
        """The job's output, a line at a time as the job printed it (bytes, newline included),
        never held whole: a line longer than MAX_LINE_BYTES (64 KiB; a progress bar redrawn
        with \\r, binary output) comes in pieces of at most that, the newline on the last,
        each piece as soon as it is full. `stream`: "stdout" or "stderr" (default both). A
        followed log ends when the job is final; a silence, a dropped connection or the
        server's own end of a long follow is bridged (see client/logs.py)."""
        params: dict[str, Any] = {
            "tail": "all" if tail is None else tail,
            "since": _epoch(since),
            "timestamps": _flag(timestamps or follow),  # a follow resumes from a line's time
            "stream": stream,
        }
        if not follow:
            yield from lines_of(self._log_chunks(ref, {**params, "timestamps": _flag(timestamps)}))
            return

        def open_log(resume_since: str | None, follow_on: bool) -> Iterator[bytes]:
            resumed = {} if resume_since is None else {"tail": "all", "since": resume_since}
            return self._log_chunks(
                ref, {**params, **resumed, "follow": _flag(follow_on)}, FOLLOW_READ_SECONDS
            )

        yield from followed_lines(open_log, lambda: self.status(ref).is_final, timestamps)

    def nodes(self) -> list[Node]:
        """Every node of the swarm, with its capacity and what jobs reserve on it."""
        return [
            Node.from_document(node) for node in self._json("GET", "/nodes", READ_RETRIES)["nodes"]
        ]

    def history(self, ref: str) -> History:
        """The job's record: its request as given (without secrets) and its timeline."""
        return History.from_document(self._json("GET", f"/history/{_path(ref)}", READ_RETRIES))

    def whoami(self) -> Identity:
        """Who the client's token or key is: the operator, or a tenant's key and its rights."""
        return Identity.from_document(self._json("GET", "/whoami", READ_RETRIES))

    def tenants(self) -> list[Tenant]:
        """Every tenant, by name (the operator's token)."""
        answer = self._json("GET", "/tenants", READ_RETRIES)
        return [Tenant.from_document(tenant) for tenant in answer["tenants"]]

    def tenant(self, name: str) -> Tenant:
        return Tenant.from_document(self._json("GET", f"/tenants/{_path(name)}", READ_RETRIES))

    def create_tenant(
        self,
        name: str,
        *,
        images: Sequence[str] | None = None,
        constraints: Sequence[str] | None = None,
        max_memory: int | None = None,
        max_cpus: float | None = None,
        max_timeout: int | None = None,
        quota: Mapping[str, Any] | None = None,
        weight: int | None = None,
    ) -> Tenant:
        """A new tenant with its policy, its `quota` (any of memory, cpus, jobs, queued,
        runs_per_minute) and `weight` (the operator's token); a name in use is Conflict."""
        body = {
            "name": name,
            **_given(
                images=None if images is None else list(images),
                constraints=None if constraints is None else list(constraints),
                max_memory=max_memory,
                max_cpus=max_cpus,
                max_timeout=max_timeout,
                quota=None if quota is None else dict(quota),
                weight=weight,
            ),
        }
        return Tenant.from_document(self._json("POST", "/tenants", NO_RETRIES, json=body))

    def update_tenant(self, name: str, **changes: Any) -> Tenant:
        """Change any of the policy's fields (`images`, `constraints`, `max_memory`,
        `max_cpus`, `max_timeout`), `quota` (a dict of the quota's fields to change) or
        `weight`; a ceiling or cap given None is lifted."""
        body = {k: list(v) if isinstance(v, (list, tuple)) else v for k, v in changes.items()}
        path = f"/tenants/{_path(name)}"
        return Tenant.from_document(self._json("PATCH", path, NO_RETRIES, json=body))

    def delete_tenant(self, name: str) -> None:
        """Remove a tenant and its keys (Conflict while it has live jobs)."""
        self._json("DELETE", f"/tenants/{_path(name)}", NO_RETRIES)

    def keys(self, tenant: str) -> list[Key]:
        """The tenant's keys (never a secret)."""
        answer = self._json("GET", f"/tenants/{_path(tenant)}/keys", READ_RETRIES)
        return [Key.from_document(key) for key in answer["keys"]]

    def create_key(
        self, tenant: str, name: str, rights: Sequence[str], expires_in: int | None = None
    ) -> Key:
        """A new key of the tenant; its `secret` is the whole key, shown this once."""
        body = {"name": name, "rights": list(rights), **_given(expires_in=expires_in)}
        path = f"/tenants/{_path(tenant)}/keys"
        return Key.from_document(self._json("POST", path, NO_RETRIES, json=body))

    def revoke_key(self, tenant: str, name: str) -> None:
        """Revoke the tenant's key of that name: it stops working within 2 s."""
        self._json("DELETE", f"/tenants/{_path(tenant)}/keys/{_path(name)}", NO_RETRIES)

    def audit(
        self,
        tenant: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | float | None = None,
        until: datetime | float | None = None,
        page_size: int = 100,
        limit: int | None = None,
    ) -> Iterator[AuditEntry]:
        """The audit trail, newest first, read a page at a time (the operator's token: every
        entry; a tenant's key with `keys`: its tenant's). `actor`: `operator` or
        `<tenant>/<key>`; `tenant`: entries whose actor or target is of that tenant."""
        params: dict[str, Any] = {
            "tenant": tenant,
            "actor": actor,
            "action": action,
            "target": target,
            "since": _epoch(since),
            "until": _epoch(until),
            "limit": page_size if limit is None else min(page_size, limit),
        }
        for document in self._pages("/audit", "entries", params, limit):
            yield AuditEntry.from_document(document)

    def usage(
        self,
        tenant: str,
        since: datetime | float | None = None,
        until: datetime | float | None = None,
    ) -> Usage:
        """What `tenant`'s jobs used in [since, until) (default: the day before now) and hold
        now (the operator's token, or the tenant's own key with `read`)."""
        params = {"since": _epoch(since), "until": _epoch(until)}
        path = f"/tenants/{_path(tenant)}/usage"
        query = {name: value for name, value in params.items() if value is not None}
        return Usage.from_document(self._json("GET", path, READ_RETRIES, params=query))

    def templates(self) -> list[Template]:
        """The caller's templates, by name."""
        answer = self._json("GET", "/templates", READ_RETRIES)
        return [Template.from_document(template) for template in answer["templates"]]

    def template(self, name: str) -> Template:
        path = f"/templates/{_path(name)}"
        return Template.from_document(self._json("GET", path, READ_RETRIES))

    def create_template(self, body: Mapping[str, Any]) -> Template:
        """A new template: `body` holds /run's fields, the template's `name`, its `parameters`
        ({"required": [...], "optional": [...]}), `payload` and `schedule` ({"cron",
        "timezone", "overlap", "catch_up", "paused"}); a name in use is Conflict."""
        answer = self._json("POST", "/templates", NO_RETRIES, json=dict(body))
        return Template.from_document(answer)

    def update_template(self, name: str, **changes: Any) -> Template:
        """Change the fields given (/run's, `parameters`, `auth`, `schedule`: its fields given
        change, e.g. schedule={"paused": True}); None puts one back to its default."""
        path = f"/templates/{_path(name)}"
        return Template.from_document(self._json("PATCH", path, NO_RETRIES, json=changes))

    def delete_template(self, name: str) -> None:
        """Remove a template (the jobs it made stay)."""
        self._json("DELETE", f"/templates/{_path(name)}", NO_RETRIES)

    def template_runs(
        self, name: str, page_size: int = 50, limit: int | None = None
    ) -> Iterator[TemplateRun]:
        """The ticks of a template's schedule, newest first, read a page at a time: each fired
        one with its job and that job's status, the others with why (skipped, missed, failed to
        start); at most `limit` (None: all the store keeps)."""
        params = {"limit": page_size if limit is None else min(page_size, limit)}
        path = f"/templates/{_path(name)}/runs"
        for document in self._pages(path, "runs", params, limit):
            yield TemplateRun.from_document(document)

    def dispatch(
        self,
        name: str,
        meta: Mapping[str, str] | None = None,
        *,
        overrides: Mapping[str, Any] | None = None,
        payload: bytes | None = None,
        idempotency_key: str | None = None,
    ) -> str:
        """Run the job a template defines, its parameters `meta` (each the job's env
        QM_META_<NAME>), `overrides` (memory, cpus, timeout, completions; env and labels
        added) and `payload` (the file /qm/payload in its container, up to 256 KiB): its id.
        Sent again as run() is, with the same Idempotency-Key."""
        body: dict[str, Any] = {"meta": dict(meta or {}), "overrides": dict(overrides or {})}
        if payload is not None:
            body["payload"] = base64.b64encode(payload).decode("ascii")
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        path = f"/templates/{_path(name)}/dispatch"
        return self._json("POST", path, RUN_RETRIES, json=body, headers=headers)["id"]

    def health(self) -> dict[str, Any]:
        """`/healthz` (no token needed) as the server answers it, healthy (200) or not (503):
        a 503 is the report asked for, not a failure to get it. `success` says which; `error`
        says why not. Raises only when no such report comes (no answer, or not quartermaster's
        JSON)."""
        return self._report("/healthz")

    def ready(self) -> dict[str, Any]:
        """`/readyz` (no token needed), ready (200) or not (503, `error` says why): as `health`."""
        return self._report("/readyz")

    def openapi(self) -> dict[str, Any]:
        """The server's OpenAPI 3.1 document."""
        return self._json("GET", "/openapi.json", READ_RETRIES)

    def _pages(
        self, path: str, field: str, params: dict[str, Any], limit: int | None
    ) -> Iterator[dict[str, Any]]:
        """The documents of `field` in the keyset pages of `path`, at most `limit`."""
        given = 0
        cursor = None
        while True:
            page = self._json("GET", path, READ_RETRIES, params={**params, "cursor": cursor})
            for document in page[field]:
                if limit is not None and given >= limit:
                    return
                given += 1
                yield document
            cursor = page.get("next_cursor")
            if cursor is None or (limit is not None and given >= limit):
                return

    def _report(self, path: str) -> dict[str, Any]:
        try:
            return self._json("GET", path, NO_RETRIES)
        except Unavailable as error:
            return error.document or {"success": False, "code": error.code, "error": error.message}

    def _json(
        self,
        method: str,
        path: str,
        retries: RetryPolicy,
        read_timeout: float | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        timeout = self._timeout(read_timeout)
        return with_retries(retries, lambda: self._http.json(method, path, timeout, **options))

    def _log_chunks(
        self, ref: str, params: dict[str, Any], read_timeout: float | None = None
    ) -> Iterator[bytes]:
        timeout = self._timeout(read_timeout)
        path = f"/logs/{_path(ref)}"
        response = with_retries(
            READ_RETRIES,
            lambda: self._http.request("GET", path, timeout, params=params, stream=True),
        )
        return chunks_of(response, "GET")

    def _timeout(self, read: float | None) -> Timeout:
        return (self.timeout, self.timeout if read is None else read)


def _token_from_env(token_file: str | Path | None) -> str | None:
    path = token_file or os.environ.get("QM_TOKEN_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get("QM_TOKEN") or None


def _given(**fields: Any) -> dict[str, Any]:
    """The fields given (not None)."""
    return {name: value for name, value in fields.items() if value is not None}


def _path(ref: str) -> str:
    """A job reference as one path segment, whatever it holds."""
    return quote(ref, safe="")


def _epoch(moment: datetime | float | None) -> float | None:
    return moment.timestamp() if isinstance(moment, datetime) else moment


def _number(value: float) -> str:
    return f"{value:g}"


def _flag(value: bool) -> str:
    return "true" if value else "false"
