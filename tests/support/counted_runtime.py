"""A job runtime whose every call is counted: what a use case asks of the swarm, in the unit tier
(on the lab, Engine API calls are counted: support/lab.py, DockerCalls)."""

from support.fake_runtime import FakeRuntime


class CountedRuntime:
    """The fake runtime, each call to it counted by name."""

    def __init__(self, runtime: FakeRuntime):
        self._runtime = runtime
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        attribute = getattr(self._runtime, name)
        if not callable(attribute):
            return attribute

        def counted(*args, **kwargs):
            self.calls.append(name)
            return attribute(*args, **kwargs)

        return counted
