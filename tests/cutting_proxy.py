"""A network that drops: a TCP proxy that cuts one connection after a number of bytes."""

from __future__ import annotations

import contextlib
import socket
import threading


class CuttingProxy:
    """A TCP proxy in front of the server that drops the connection carrying the
    `cut_after`-th byte sent to the server (once); every other connection passes.
    `patches` counts the tus pieces that went through it."""

    def __init__(self, target_port: int, cut_after: int | None = None) -> None:
        self._target = target_port
        self._budget: int | None = cut_after
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.cuts = 0
        self.patches = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._target))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(64 * 1024):
                if counted and data.startswith(b"PATCH "):
                    self.patches += 1
                if counted:
                    with self._lock:
                        if self._budget is not None:
                            if len(data) >= self._budget:
                                target.sendall(data[: self._budget])
                                self._budget = None
                                self.cuts += 1
                                raise ConnectionAbortedError
                            self._budget -= len(data)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def arm(self, cut_after: int) -> None:
        """Cut the connection that carries the `cut_after`-th byte from now on."""
        with self._lock:
            self._budget = cut_after

    def close(self) -> None:
        self._listener.close()
