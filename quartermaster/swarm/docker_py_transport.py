"""Docker hosts other than a Unix socket, through docker-py.

A tcp:// host with TLS (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH: client certificate, CA, verification)
or an ssh:// host takes care to set up; docker-py does it from the environment as the docker CLI
does, and its client is a requests session ready for that host. quartermaster sends its own
requests through that session's public methods, with full URLs; nothing else of docker-py is used.
"""

import contextlib
import os
import socket
from collections.abc import Mapping

import docker
import requests
import urllib3
from docker.constants import DEFAULT_DOCKER_API_VERSION
from docker.utils import kwargs_from_env


class DockerPyTransport:
    """requests' errors are OSErrors already; docker-py's refusal of a setting becomes one."""

    def __init__(self, docker_host: str | None, pool_size: int):
        environment = dict(os.environ)
        if docker_host:
            environment["DOCKER_HOST"] = docker_host
        try:
            self._session = docker.APIClient(
                # docker-py's own API version and timeout are never used (the paths are ours,
                # each request has its timeout); naming a version spares asking Docker for it.
                version=DEFAULT_DOCKER_API_VERSION,
                max_pool_size=pool_size,
                **kwargs_from_env(environment=environment),
            )
        except docker.errors.DockerException as error:  # a host or TLS setting it cannot use
            raise ConnectionError(f"Docker cannot be reached as configured: {error}") from error
        # Proxy and CA settings from the environment are not the Docker host's (docker-py has
        # set its own), and requests would read the whole environment again on every call.
        self._session.trust_env = False
        self._base_url = self._session.base_url

    def exchange(
        self,
        method: str,
        target: str,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: float,
    ) -> tuple[int, bytes]:
        answer = self._session.request(
            method, self._base_url + target, data=body, headers=dict(headers), timeout=timeout
        )
        return answer.status_code, answer.content

    def open_stream(self, target: str, timeout: float) -> "_Stream":
        answer = self._session.get(self._base_url + target, stream=True, timeout=timeout)
        return _Stream(answer)


class _Stream:
    def __init__(self, answer: requests.Response):
        self.status = answer.status_code
        self._answer = answer

    def read(self, size: int) -> bytes:
        try:
            return self._answer.raw.read(size)
        except urllib3.exceptions.HTTPError as error:
            raise ConnectionError(f"Docker's answer could not be read: {error}") from error

    def read_some(self, size: int) -> bytes:
        try:
            return self._answer.raw.read1(size)
        except urllib3.exceptions.HTTPError as error:
            raise ConnectionError(f"Docker's answer could not be read: {error}") from error

    def read_all(self) -> bytes:
        return self._answer.content

    def without_timeout(self) -> None:
        if (sock := self._socket()) is not None:
            sock.settimeout(None)

    def shutdown(self) -> None:
        if (sock := self._socket()) is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._answer.close()

    def _socket(self) -> socket.socket | None:
        connection = self._answer.raw.connection  # until the answer is read or closed
        return None if connection is None else connection.sock
