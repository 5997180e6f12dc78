"""Ports where nothing answers: refused connects, and connects that hang until they time out."""

from __future__ import annotations

import atexit
import select
import socket

_RESERVED: list[socket.socket] = []
atexit.register(lambda: [s.close() for s in _RESERVED])


def closed_port(host: str = "127.0.0.1") -> int:
    """A port where a connect is refused at once. The port stays bound (never listening) for
    the life of the process, so nobody else can start listening on it meanwhile."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    _RESERVED.append(sock)
    return sock.getsockname()[1]


unroutable_port = closed_port


class BlackHole:
    """A TCP listener that never accepts, its one-slot backlog pre-filled: on Linux the kernel
    then drops new SYNs, so a client's connect hangs until its connect timeout fires."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._listener: socket.socket | None = None
        self._fillers: list[socket.socket] = []

    def start(self) -> BlackHole:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((self.host, 0))
        self._listener.listen(0)
        for _ in range(16):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.setblocking(False)
            probe.connect_ex((self.host, self.port))
            _, writable, _ = select.select([], [probe], [], 0.1)
            if writable and probe.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                self._fillers.append(probe)
                continue
            probe.close()  # this one hung: the backlog is full
            return self
        self.stop()
        raise RuntimeError("could not fill the accept backlog; connect timeouts cannot be faked")

    def stop(self) -> None:
        for sock in [*self._fillers, self._listener]:
            if sock is not None:
                sock.close()
        self._fillers.clear()

    @property
    def port(self) -> int:
        assert self._listener is not None, "start() the BlackHole first"
        return self._listener.getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> BlackHole:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
