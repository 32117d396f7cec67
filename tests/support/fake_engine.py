"""An Engine API client over lists of swarm objects, for the unit tier: it filters as Docker and
swarmkit do where quartermaster relies on it (a task asked for by `node` is one placed on that
node: Docker answers with the tasks placed on that node only), and it counts what each call
cost, in objects read, so a test can tell a cost that grows with parked jobs from one that does
not."""

from collections import Counter

from quartermaster.jobs import labels
from quartermaster.jobs.errors import JobNotFound


def _labelled(swarm_object: dict, label_filters: list[str]) -> bool:
    object_labels = swarm_object["Spec"].get("Labels", {})
    for label_filter in label_filters:
        key, _, value = label_filter.partition("=")
        if key not in object_labels or (value and object_labels[key] != value):
            return False
    return True


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class FakeEngine:
    def __init__(
        self,
        nodes: list[dict],
        services: list[dict],
        tasks: list[dict],
        configs: list[dict] | None = None,
    ):
        self.node_list = nodes
        self.service_list = services
        self.task_list = tasks
        self.config_list = configs or []
        self.calls: list[tuple[str, dict]] = []
        self.objects_read: Counter[str] = Counter()  # by call: the objects it went through

    def nodes(self, filters: dict | None = None) -> list:
        self.calls.append(("nodes", filters or {}))
        self.objects_read["nodes"] += len(self.node_list)
        return list(self.node_list)

    def tasks(self, filters: dict | None = None) -> list:
        filters = filters or {}
        self.calls.append(("tasks", filters))
        node_ids = _as_list(filters.get("node"))
        service_ids = _as_list(filters.get("service"))
        known_nodes = {node["ID"] for node in self.node_list}
        if any(node_id not in known_nodes for node_id in node_ids):
            raise JobNotFound("node not found")  # Docker looks each node up first
        if any(not self._service_known(service_id) for service_id in service_ids):
            raise JobNotFound("service not found")  # Docker looks each service up first
        if service_ids:
            read = [task for task in self.task_list if task["ServiceID"] in service_ids]
        elif node_ids:  # placed tasks only
            read = [task for task in self.task_list if task.get("NodeID") in node_ids]
        else:
            read = list(self.task_list)
        self.objects_read["tasks"] += len(read)
        # A task carries its service's labels.
        label_filters = _as_list(filters.get("label"))
        services = {service["ID"]: service for service in self.service_list}
        return [
            task
            for task in read
            if task["ServiceID"] in services
            and _labelled(services[task["ServiceID"]], label_filters)
        ]

    def services(self, filters: dict | None = None) -> list:
        filters = filters or {}
        self.calls.append(("services", filters))
        ids = _as_list(filters.get("id"))
        read = [
            service
            for service in self.service_list
            if not ids or any(service["ID"].startswith(prefix) for prefix in ids)
        ]
        self.objects_read["services"] += len(read)
        return [service for service in read if _labelled(service, _as_list(filters.get("label")))]

    def configs(self, filters: dict | None = None) -> list:
        filters = filters or {}
        self.calls.append(("configs", filters))
        names = _as_list(filters.get("name"))
        self.objects_read["configs"] += len(self.config_list)
        return [
            config
            for config in self.config_list
            if not names or any(name in config["Spec"]["Name"] for name in names)
        ]

    def _service_known(self, service_id: str) -> bool:
        return any(service["ID"] == service_id for service in self.service_list)


class FakeConnection:
    """A DockerConnection whose engine is `engine`."""

    def __init__(self, engine: FakeEngine):
        self.engine = engine


# Swarm objects as Docker describes them, with what quartermaster reads of them.

GIB = 1024**3


def node(node_id: str, role: str = "worker") -> dict:
    return {
        "ID": node_id,
        "Description": {
            "Hostname": f"host-{node_id}",
            "Resources": {"MemoryBytes": 8 * GIB, "NanoCPUs": 4 * 10**9},
        },
        "Spec": {"Role": role, "Availability": "active"},
        "Status": {"State": "ready"},
    }


def job(service_id: str, deployment: str = "") -> dict:
    return {
        "ID": service_id,
        "Spec": {"Name": service_id, "Labels": {labels.JOB: labels.job_mark(deployment)}},
    }


def task(service_id: str, state: str, node_id: str | None, memory_gib: int = 1) -> dict:
    reservations = {"MemoryBytes": memory_gib * GIB, "NanoCPUs": 5 * 10**8}
    placed = {"NodeID": node_id} if node_id else {}
    return {
        "ID": f"task-{service_id}",
        "ServiceID": service_id,
        **placed,
        "Spec": {"Resources": {"Reservations": reservations}},
        "Status": {"State": state},
    }
