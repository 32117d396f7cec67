"""An in-memory job runtime for the unit tier: `JobRuntime` without Docker.

What the HTTP layer can see of it is what it sees of the swarm runtime; the contract cases
(contract.py) run against both, so that it stays so. Underneath it is small:

- A job is the service spec `Swarm.create_job` would send (`swarm.spec.service_spec`), of the
  JobSpec as given (the service applied its defaults): its name, labels (the Idempotency-Key's
  and the request's hashes among them), constraints, reservation, mode and restart policy are
  the swarm's.
- The swarm is a manager and `workers` workers, ready and active, each with NODE_MEMORY_MB and
  NODE_CPUS. A run goes to the matching node with the fewest runs so far; a job no node can take
  stays `pending` and says why, as swarm's scheduler does. Jobs do not queue behind each other's
  reservations, and every image runs (there is no registry).
- What a run does is read from its command, by a convention of real busybox commands, so that
  the contract cases run unchanged on the lab:

      true, false           exit 0, exit 1
      echo WORDS            print WORDS
      sleep S               last S seconds
      sh -c SCRIPT          SCRIPT: steps separated by `;`, each `echo WORDS` (with `>&2`: to
                            stderr), `sleep S`, `exit N`, `true` or `false`
      (no command)          the image's default, `sh` with no input: exits 0 at once
      another executable    one the image does not have: rejected, in swarm's words

  Anything else (`&`, pipes, `$`, loops) is a ValueError at /run: a test should not guess.
- A job's runs are planned when it is created (a failed run retried after the policy's delay, a
  `job`'s runs `parallelism` at a time); its status, logs and reservations are read off that
  plan when asked. No reaper runs here: timeouts, TTLs and callbacks are the lab's to test.
- A halted job's output is gone, as swarm drops a halted job's tasks with their logs; a log set
  aside (set_log_aside) is kept for ever, as its swarm config is until the reaper removes it.

One module of ~600 lines: every part of it acts on the same jobs and nodes, and it stands in for
all of swarm/ at once.
"""

import math
import secrets
import shlex
import string
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from quartermaster.jobs import history
from quartermaster.jobs import labels as job_labels
from quartermaster.jobs.constraints import node_matches
from quartermaster.jobs.errors import (
    AmbiguousReference,
    IdempotencyConflict,
    JobNotFound,
    NameConflict,
)
from quartermaster.jobs.fair_share import NodeRoom, SwarmRoom
from quartermaster.jobs.history import LogKeeper, LogLine
from quartermaster.jobs.idempotency import KeyHashes
from quartermaster.jobs.logs import LogOptions
from quartermaster.jobs.nodes import NodesReading, NodeSummary, SwarmHealth
from quartermaster.jobs.query import JobPage, JobQuery, encode_cursor
from quartermaster.jobs.references import is_full_id
from quartermaster.jobs.spec import PAYLOAD_PATH, JobSpec
from quartermaster.jobs.status import (
    COMPLETE,
    FAILED,
    FINAL_STATUSES,
    PENDING,
    QUEUED,
    REJECTED,
    SHUTDOWN,
    STARTED,
    JobStatus,
)
from quartermaster.jobs.tenancy import service_name
from quartermaster.jobs.times import NANO
from quartermaster.process.config import Config
from quartermaster.swarm.payloads import PAYLOAD_PREFIX
from quartermaster.swarm.spec import released_spec, service_spec
from quartermaster.swarm.status import overall_status

# The swarm's own words, as the contract cases check them.
NO_SUCH_JOB = "no such job"
AMBIGUOUS_REFERENCE = "more than one job matches this reference; use the job's full id"
KEY_REUSED = "this Idempotency-Key was used with a different request"
NAME_IN_USE = (
    "rpc error: code = AlreadyExists desc = name conflicts with an existing object: "
    "service {name} already exists"
)
NON_ZERO_EXIT = "task: non-zero exit ({code})"
NOT_IN_THE_IMAGE = (
    "starting container failed: failed to create shim task: OCI runtime create failed: runc "
    'create failed: unable to start container process: exec: "{name}": executable file not '
    "found in $PATH: unknown"
)
NOT_READY = "no ready, active node matches the placement constraints {constraints}"

NODE_MEMORY_MB = 4096
NODE_CPUS = 2
MIB = 1024 * 1024
ID_ALPHABET = string.digits + string.ascii_lowercase
# A new run waits this long for a node (swarm's "pending"), then on its node (until it runs).
PLACED_AFTER = 0.1
RUNS_AFTER = 0.2
# Two lines a run prints at once, and two jobs made at once, are this far apart: their order is
# their times' (a float of epoch seconds holds about a tenth of a microsecond).
LINE_SPACING = CREATION_SPACING = 1e-6
POLL_SECONDS = 0.02  # how often a wait or a follow looks again
STDOUT, STDERR = "stdout", "stderr"
STREAM_NUMBERS = {STDOUT: history.STDOUT, STDERR: history.STDERR}


@dataclass(frozen=True)
class Program:
    """What a command does: its lines ((seconds after the start, stream, text)), how long it
    lasts and its exit code; or the executable the image lacks."""

    lines: tuple[tuple[float, str, str], ...] = ()
    seconds: float = 0.0
    exit_code: int = 0
    missing: str | None = None


def program_of(args: list[str] | None) -> Program:
    """The program a command runs, by the convention of this module's docstring."""
    if args is None:
        return Program()  # busybox's CMD: sh, which reads no input and exits 0
    name, *rest = args
    if name == "sh":
        if len(rest) != 2 or rest[0] != "-c":
            raise ValueError(f"the fake runs `sh -c SCRIPT` only, not {args}")
        return _script(rest[1])
    if name not in ("true", "false", "echo", "sleep"):
        return Program(missing=name)
    return _steps([args])


def _script(script: str) -> Program:
    if "$" in script or "`" in script:
        raise ValueError(f"the fake expands nothing: {script!r}")
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|<>()")
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token == ";":
            commands.append([])
        else:
            commands[-1].append(token)
    return _steps([command for command in commands if command])


def _steps(commands: list[list[str]]) -> Program:
    lines, seconds, status = [], 0.0, 0
    for name, *args in commands:
        if name == "echo":
            stream = STDOUT
            if args[-2:] == [">&", "2"]:
                args, stream = args[:-2], STDERR
            if any(arg in (">&", "&", "|", "<", ">", "(", ")") for arg in args):
                raise ValueError(f"the fake does not run {[name, *args]}")
            lines.append((seconds + len(lines) * LINE_SPACING, stream, " ".join(args)))
            status = 0
        elif name == "sleep" and len(args) == 1:
            seconds, status = seconds + float(args[0]), 0
        elif name == "exit" and len(args) <= 1:
            return Program(tuple(lines), seconds, int(args[0]) if args else status)
        elif name in ("true", "false"):
            status = 0 if name == "true" else 1
        else:
            raise ValueError(f"the fake does not run {[name, *args]}")
    return Program(tuple(lines), seconds, status)


@dataclass(frozen=True)
class Node:
    id: str
    hostname: str
    role: str
    address: str

    def as_docker_reports_it(self) -> dict:
        """The parts of Docker's node JSON that placement constraints read."""
        return {
            "ID": self.id,
            "Spec": {"Role": self.role, "Availability": "active", "Labels": {}},
            "Status": {"State": "ready", "Addr": self.address},
            "Description": {
                "Hostname": self.hostname,
                "Platform": {"OS": "linux", "Architecture": "x86_64"},
                "Engine": {"Labels": {}},
            },
        }


@dataclass(frozen=True)
class Run:
    """One of a job's runs (a swarm task): made at `created`, on `node` from `placed` (None: no
    node can take it, and it waits for ever), running from `starts` until `ends`."""

    created: float
    node: str | None
    placed: float
    starts: float
    ends: float
    program: Program
    waiting_because: str | None = None  # why no node takes it

    def state(self, now: float) -> str:
        """Swarm's task state at `now`."""
        if self.node is None or now < self.placed:
            return "pending"
        if now < self.starts:
            return "assigned"
        if now < self.ends:
            return "running"
        if self.program.missing is None and self.program.exit_code == 0:
            return "complete"
        return "failed"  # swarm's state also for a container it could not start

    def word(self, now: float) -> str:
        state = self.state(now)
        if state == "failed" and self.program.missing is not None:
            return REJECTED
        return {"running": STARTED, "complete": COMPLETE, "failed": FAILED}.get(state, PENDING)

    def error(self, now: float) -> str | None:
        state = self.state(now)
        if state == "pending" and self.node is None and now >= self.created + PLACED_AFTER:
            return self.waiting_because
        if state != "failed":
            return None
        if self.program.missing is not None:
            return NOT_IN_THE_IMAGE.format(name=self.program.missing)
        return NON_ZERO_EXIT.format(code=self.program.exit_code)

    def holds_reservation(self, now: float) -> bool:
        return self.node is not None and self.placed <= now < self.ends

    def lines(self) -> list[tuple[float, str, str]]:
        if self.node is None or self.program.missing is not None:
            return []
        return [(self.starts + offset, stream, text) for offset, stream, text in self.program.lines]


@dataclass(frozen=True)
class Job:
    id: str
    spec: dict  # the service spec swarm would be given
    created: float
    runs: tuple[Run, ...]
    halted: float | None = None  # when halt_job stopped it

    @property
    def name(self) -> str:
        """The job's name as given (a tenant's job's service's name carries its tenant)."""
        return self.labels.get(job_labels.NAME) or self.spec["Name"]

    @property
    def tenant(self) -> str | None:
        return self.labels.get(job_labels.TENANT)

    @property
    def labels(self) -> dict[str, str]:
        return self.spec["Labels"]

    @property
    def reservation(self) -> dict:
        return self.spec["TaskTemplate"]["Resources"]["Reservations"]

    def status(self, now: float) -> JobStatus:
        """The job as swarm's tasks would show it at `now` (see swarm/status.py)."""
        runs = [run for run in self.runs if run.created <= now]
        words = [run.word(now) for run in runs]
        running = [run for run in runs if run.state(now) == "running"]
        current = max(running or runs, key=lambda run: run.created, default=None)
        completions = int(self.labels[job_labels.COMPLETIONS])
        status = overall_status(words, current.word(now) if current else PENDING, completions)
        ended = [run.ends for run in runs if run.ends <= now]
        exit_code = None
        if current is not None and current.word(now) in (COMPLETE, FAILED):
            exit_code = current.program.exit_code
        finished = max(ended) if status in FINAL_STATUSES and ended else None
        if self.halted is not None and status not in (COMPLETE, FAILED, REJECTED):
            status, finished = SHUTDOWN, self.halted
        elif job_labels.QUEUED in self.labels and not runs:
            status = QUEUED
        return JobStatus(
            id=self.id,
            name=self.name,
            tenant=self.tenant,
            image=self.labels[job_labels.IMAGE],
            type="job" if "ReplicatedJob" in self.spec["Mode"] else "service",
            status=status,
            state=current.state(now) if current else "new",
            exit_code=exit_code,
            error=current.error(now) if current else None,
            node=current.node if current and now >= current.placed else None,
            created_at=timestamp(self.created),
            started_at=timestamp(current.starts) if status == STARTED else None,
            finished_at=None if finished is None else timestamp(finished),
            completions=completions,
            succeeded=words.count(COMPLETE),
            failed=words.count(FAILED) + words.count(REJECTED),
            attempts=len(runs),
            template=self.labels.get(job_labels.TEMPLATE),
            scheduled_for=self.labels.get(job_labels.SCHEDULED_FOR),
        )

    def lines(self) -> list[tuple[float, str, str]]:
        """What its runs printed; nothing once halted (swarm drops a halted job's tasks, and
        their logs with them)."""
        if self.halted is not None:
            return []
        return sorted(line for run in self.runs for line in run.lines())


def timestamp(moment: float) -> str:
    """Swarm's form of a time: RFC 3339 in UTC, to the nanosecond."""
    whole = math.floor(moment)
    carry, fraction = divmod(round((moment - whole) * NANO), NANO)
    whole += carry
    seconds = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{seconds}.{fraction:09d}Z"


class FakeRuntime:
    """The in-memory runtime; thread-safe, as the swarm's is (waits run in threads)."""

    def __init__(self, config: Config, workers: int = 2):
        self._config = config
        manager = Node(new_id(), "fake-manager", "manager", "10.99.0.1")
        self._nodes = [manager] + [
            Node(new_id(), f"fake-worker-{n}", "worker", f"10.99.0.{10 + n}")
            for n in range(1, workers + 1)
        ]
        self._jobs: dict[str, Job] = {}
        self.payloads: dict[str, bytes] = {}  # each dispatch's payload, by its config's id
        # The registry credentials each job was made with (swarm keeps them for its pulls).
        self.registry_auths: dict[str, dict[str, str] | None] = {}
        self._set_aside: dict[str, LogKeeper] = {}  # logs set aside, by job id
        self._runs_on: Counter = Counter()  # runs placed on each node so far
        self._last_created = 0.0
        self._lock = threading.Lock()

    def health(self) -> SwarmHealth:
        workers = [node for node in self._nodes if node.role == "worker"]
        return SwarmHealth(
            managers=len(self._nodes) - len(workers),
            workers=len(workers),
            ready_workers=len(workers),
        )

    def readiness_problem(self) -> str | None:
        constraints = self._config.constraints
        if any(node_matches(node.as_docker_reports_it(), constraints) for node in self._nodes):
            return None
        return NOT_READY.format(constraints=list(constraints))

    def create_job(self, job: JobSpec, key: KeyHashes | None = None, held: bool = False) -> str:
        payload = None
        if job.payload is not None:  # as swarm/payloads.py mounts it, its bytes kept here
            payload = {
                "File": {"Name": PAYLOAD_PATH, "UID": "0", "GID": "0", "Mode": 0o444},
                "ConfigID": new_id(),
                "ConfigName": PAYLOAD_PREFIX + secrets.token_hex(12),
            }
            self.payloads[payload["ConfigID"]] = job.payload
        spec = service_spec(job, key, held=held, payload=payload)
        spec.setdefault("Name", docker_name())  # Docker names a service sent without a name
        program = program_of(spec["TaskTemplate"]["ContainerSpec"].get("Args"))
        with self._lock:
            if key is not None and (earlier := self._job_with_key(key.key)) is not None:
                if earlier.labels[job_labels.REQUEST_HASH] != key.request:
                    raise IdempotencyConflict(KEY_REUSED)
                return earlier.id
            if any(other.spec["Name"] == spec["Name"] for other in self._jobs.values()):
                raise NameConflict(NAME_IN_USE.format(name=spec["Name"]))
            created = max(time.time(), self._last_created + CREATION_SPACING)
            self._last_created = created
            runs = () if held else self._plan(spec, program, created)
            new = Job(new_id(), spec, created, runs)
            self.registry_auths[new.id] = job.registry_auth
            self._jobs[new.id] = new
        return new.id

    def release_job(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise JobNotFound(NO_SUCH_JOB)
            if job_labels.QUEUED not in job.labels:
                return
            now = time.time()
            spec = released_spec(job.spec, timestamp(now))
            program = program_of(spec["TaskTemplate"]["ContainerSpec"].get("Args"))
            self._jobs[job_id] = replace(job, spec=spec, runs=self._plan(spec, program, now))

    def service(self, job_id: str) -> dict:
        """The job's service as Docker's inspect shows it: its id and the spec it was made with."""
        return {"ID": job_id, "Spec": self._job(job_id).spec}

    def _job_with_key(self, key_hash: str) -> Job | None:
        """The job an Idempotency-Key (by its hash) made, while it exists."""
        for job in self._jobs.values():
            if job.labels.get(job_labels.IDEMPOTENCY_KEY) == key_hash:
                return job
        return None

    def job_status(
        self,
        reference: str,
        wait: float = 0,
        abandoned: Callable[[], bool] = lambda: False,
        tenant: str | None = None,
    ) -> JobStatus:
        status = self._resolve(reference, tenant).status(time.time())
        deadline = time.monotonic() + wait
        while not status.is_final and time.monotonic() < deadline and not abandoned():
            time.sleep(POLL_SECONDS)
            status = self._job(status.id).status(time.time())
        return status

    def new_job_status(self, job_id: str) -> JobStatus:
        return self._job(job_id).status(time.time())

    def list_jobs(self, query: JobQuery) -> JobPage:
        now = time.time()
        with self._lock:
            jobs = sorted(self._jobs.values(), key=_position, reverse=True)
        page: list[tuple[tuple[str, str], JobStatus]] = []
        for job in jobs:
            if query.after is not None and _position(job) >= query.after:
                continue
            if any(job.labels.get(key) != value for key, value in query.labels.items()):
                continue
            if query.name and not job.name.startswith(query.name):
                continue
            status = job.status(now)
            if query.statuses and status.status not in query.statuses:
                continue
            if len(page) == query.limit:
                return JobPage([status for _, status in page], encode_cursor(page[-1][0]))
            page.append((_position(job), status))
        return JobPage([status for _, status in page], None)

    def job_statuses(self, job_ids: list[str]) -> dict[str, JobStatus]:
        now = time.time()
        with self._lock:
            held = [self._jobs[job_id] for job_id in job_ids if job_id in self._jobs]
        return {job.id: job.status(now) for job in held}

    def nodes(self) -> NodesReading:
        now = time.time()
        with self._lock:
            runs = [(job, run) for job in self._jobs.values() for run in job.runs]
        summaries = []
        for node in sorted(self._nodes, key=lambda node: node.id):
            holding = [(j, r) for j, r in runs if r.node == node.id and r.holds_reservation(now)]
            memory = sum(job.reservation.get("MemoryBytes", 0) for job, _ in holding) // MIB
            cpus = sum(job.reservation.get("NanoCPUs", 0) for job, _ in holding) / NANO
            summaries.append(
                NodeSummary(
                    id=node.id,
                    hostname=node.hostname,
                    role=node.role,
                    state="ready",
                    availability="active",
                    memory_mb=NODE_MEMORY_MB,
                    cpus=float(NODE_CPUS),
                    reserved_memory_mb=memory,
                    reserved_cpus=cpus,
                    free_memory_mb=max(NODE_MEMORY_MB - memory, 0),
                    free_cpus=max(NODE_CPUS - cpus, 0.0),
                    running_jobs=sum(1 for _, run in holding if run.state(now) == "running"),
                )
            )
        return NodesReading(summaries, now)

    def room(self) -> SwarmRoom:
        now = time.time()
        with self._lock:
            placed = frozenset(
                job.id for job in self._jobs.values()
                if any(run.holds_reservation(now) for run in job.runs)
            )  # fmt: skip
        summaries = {summary.id: summary for summary in self.nodes().nodes}
        return SwarmRoom(
            tuple(
                NodeRoom(
                    node.as_docker_reports_it(),
                    NODE_MEMORY_MB,
                    float(NODE_CPUS),
                    summaries[node.id].free_memory_mb,
                    summaries[node.id].free_cpus,
                )
                for node in self._nodes
            ),
            placed,
        )

    def job_logs(
        self,
        reference: str,
        options: LogOptions,
        abandoned: Callable[[], bool] = lambda: False,
        tenant: str | None = None,
    ) -> Iterator[bytes]:
        job = self._resolve(reference, tenant)  # now: an unknown job is an error before any chunk
        return self._log_chunks(job, options, abandoned)

    def capture_log(self, job_id: str, max_bytes: int) -> LogKeeper:
        with self._lock:
            set_aside = self._set_aside.get(job_id)
        if set_aside is not None:
            kept = LogKeeper(max_bytes)
            for line in set_aside.lines:
                kept.add(line)
            kept.truncated = kept.truncated or set_aside.truncated
            return kept
        keeper = LogKeeper(max_bytes)
        now = time.time()
        for moment, stream, text in self._job(job_id).lines():
            if moment <= now:
                line = f"{timestamp(moment)} {text}\n".encode()
                keeper.add(LogLine(STREAM_NUMBERS[stream], line))
        return keeper

    def services(self) -> list[dict]:
        """Each job's service as swarm lists it, as far as the reaper's recording reads one:
        its id and spec (not part of JobRuntime: for tests of the reaper's recording)."""
        with self._lock:
            return [{"ID": job.id, "Spec": job.spec} for job in self._jobs.values()]

    def set_log_aside(self, job_id: str, log: LogKeeper) -> None:
        kept = LogKeeper(log.max_bytes, deque(log.lines), log.size, log.truncated)
        with self._lock:
            self._set_aside.setdefault(job_id, kept)  # like a swarm config: the first stays

    def halt_job(self, job_id: str, stopped_by: str | None = None) -> str:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise JobNotFound(NO_SUCH_JOB)
            now = time.time()
            labels = {**job.labels, job_labels.STOPPED: timestamp(now)}  # as swarm/halting.py
            if stopped_by is not None:
                labels[job_labels.STOPPED_BY] = stopped_by
            self._jobs[job_id] = replace(job, halted=now, spec={**job.spec, "Labels": labels})
        return job_id

    def stop_job(self, reference: str, tenant: str | None = None) -> str:
        job = self._resolve(reference, tenant)
        with self._lock:
            if self._jobs.pop(job.id, None) is None:
                raise JobNotFound(NO_SUCH_JOB)  # stopped meanwhile
        return job.id

    def _resolve(self, reference: str, tenant: str | None = None) -> Job:
        """The job with that full id; else the one job named so (by its service's name: a
        tenant's job's carries its tenant) or whose id starts with it; among `tenant`'s jobs
        (None: every job)."""
        with self._lock:
            jobs = [job for job in self._jobs.values() if tenant in (None, job.tenant)]
            if is_full_id(reference):
                candidates = [job for job in jobs if job.id == reference]
            else:
                service = service_name(tenant, reference)
                candidates = [
                    job
                    for job in jobs
                    if job.spec["Name"] == service or job.id.startswith(reference)
                ]
        if not candidates:
            raise JobNotFound(NO_SUCH_JOB)
        if len(candidates) > 1:
            raise AmbiguousReference(AMBIGUOUS_REFERENCE)
        return candidates[0]

    def _job(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(NO_SUCH_JOB)  # stopped meanwhile
        return job

    def _plan(self, spec: dict, program: Program, created: float) -> tuple[Run, ...]:
        """Every run the job will make: one per slot (a `job`: `parallelism` slots), each run
        after the last in its slot; a failed run again after the delay, as many times as its
        policy allows; a `job`'s runs until `completions` succeeded."""
        template = spec["TaskTemplate"]
        mode = spec["Mode"].get("ReplicatedJob", {"MaxConcurrent": 1, "TotalCompletions": 1})
        policy = template["RestartPolicy"]
        retries = policy.get("MaxAttempts", 0) if policy["Condition"] == "on-failure" else 0
        delay = policy.get("Delay", 0) / NANO
        slots = min(mode["MaxConcurrent"], mode["TotalCompletions"])
        node, waiting_because = self._placement(template)
        if node is None:
            never = math.inf
            return tuple(
                Run(created, None, never, never, never, program, waiting_because)
                for _ in range(slots)
            )
        succeeds = program.missing is None and program.exit_code == 0
        runs_per_slot = [0] * slots
        if succeeds:
            for completion in range(mode["TotalCompletions"]):
                runs_per_slot[completion % slots] += 1
        else:
            runs_per_slot = [1 + retries] * slots
        runs = []
        for count in runs_per_slot:
            made, wait = created, 0.0
            for _ in range(count):
                placed = made + wait + PLACED_AFTER
                starts = made + wait + RUNS_AFTER
                run = Run(made, node, placed, starts, starts + program.seconds, program)
                runs.append(run)
                made, wait = run.ends, (0.0 if succeeds else delay)
        self._runs_on[node] += len(runs)
        return tuple(runs)

    def _placement(self, template: dict) -> tuple[str | None, str | None]:
        """The node for the job's runs, or None and why none, in the words of swarm's
        scheduler (its filters in its order: resources, then constraints)."""
        reservation = template["Resources"]["Reservations"]
        constraints = template["Placement"]["Constraints"]
        refused: Counter = Counter()
        eligible = []
        for node in self._nodes:
            if (
                reservation.get("MemoryBytes", 0) > NODE_MEMORY_MB * MIB
                or reservation.get("NanoCPUs", 0) > NODE_CPUS * NANO
            ):
                refused["insufficient resources"] += 1
            elif not node_matches(node.as_docker_reports_it(), constraints):
                refused["scheduling constraints not satisfied"] += 1
            else:
                eligible.append(node)
        if eligible:
            return min(eligible, key=lambda node: self._runs_on[node.id]).id, None
        reasons = "; ".join(
            f"{reason} on {count} node{'s' if count > 1 else ''}"
            for reason, count in refused.most_common()
        )
        return None, f"no suitable node ({reasons})"

    def _log_chunks(
        self, job: Job, options: LogOptions, abandoned: Callable[[], bool]
    ) -> Iterator[bytes]:
        """As the swarm's log stream: an empty first chunk, then a line a chunk; a followed
        log until the job is final (or gone), its reader left, or FOLLOW_MAX_SECONDS."""
        yield b""
        streams = {STDOUT} if options.stdout else set()
        streams |= {STDERR} if options.stderr else set()
        lines = [
            line
            for line in job.lines()
            if line[1] in streams and (options.since is None or line[0] >= options.since)
        ]
        now = time.time()
        printed = [line for line in lines if line[0] <= now]
        kept = len(printed) if options.tail is None else min(options.tail, len(printed))
        for line in printed[len(printed) - kept :]:
            yield self._log_line(line, options)
        if not options.follow:
            return
        deadline = time.monotonic() + self._config.follow_max_seconds
        coming = lines[len(printed) :]
        while time.monotonic() < deadline and not abandoned():
            now = time.time()
            while coming and coming[0][0] <= now:
                yield self._log_line(coming.pop(0), options)
            with self._lock:
                current = self._jobs.get(job.id)
            if current is None or (not coming and current.status(now).is_final):
                return
            time.sleep(POLL_SECONDS)

    @staticmethod
    def _log_line(line: tuple[float, str, str], options: LogOptions) -> bytes:
        moment, _, text = line
        prefix = f"{timestamp(moment)} " if options.timestamps else ""
        return f"{prefix}{text}\n".encode()


def _position(job: Job) -> tuple[str, str]:
    """Where a job is in /jobs' order, as its cursor says it: its creation time, then its id."""
    return (timestamp(job.created).rstrip("Z"), job.id)


def docker_name() -> str:
    """A name like one Docker gives a service sent without one (its own are adjective_scientist
    pairs)."""
    return "unnamed_" + secrets.token_hex(4)


def new_id() -> str:
    """An id of swarm's form: 25 lower-case letters and digits."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(25))
