"""Start `cobord serve` processes by forking one that has already imported the server.

A server start spends most of its CPU importing (SQLAlchemy, Alembic, uvicorn, the server's own
modules: ~0.8 s of ~1 s), and the suite starts about a hundred. Each test worker keeps one zygote:
a process that imported all that once and forks a child per server. The child is the same program
`cobord serve` runs (`server.cli.main` with the same arguments, environment and working directory),
with its own process, port and database; only the imports were done before the fork. Nothing is
shared between the children after the fork (no event loop, thread, connection or engine exists in
the zygote).

The test side (`Zygote`, `Forked`) talks to it over a Unix socket pair: a request carries the
arguments, the environment and the write end of a pipe (SCM_RIGHTS) that becomes the child's
stdout and stderr; the zygote answers with the child's pid, and later with its exit status.
`Forked` looks like the `subprocess.Popen` that tests/conftest.py's ServerProcess used (pid,
stdout, poll, wait, send_signal, terminate, kill, returncode).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import traceback
from typing import IO, Any

MAX_MESSAGE = 1 << 20  # a request: arguments and environment
FORK_TIMEOUT = 60.0  # the first request waits for the zygote's imports (20 s seen under load)


# ---------------------------------------------------------------- the zygote (its own process)


def _child(request: dict[str, Any], output: int, closing: list[int]) -> None:
    """In the forked child: become `cobord serve` with the request's arguments; never returns."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in closing:
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(devnull)
        os.close(output)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["cobord", *request["args"]]
        from server import cli

        cli.main(request["args"])
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(control_fd: int) -> None:
    """The zygote's loop: fork a child per request, report each child's exit."""
    # What `cobord serve` imports, once. The children import nothing of this again.
    import alembic.command  # noqa: F401
    import uvicorn
    import uvicorn.lifespan.on
    import uvicorn.loops.uvloop
    import uvicorn.protocols.websockets.websockets_sansio_impl  # noqa: F401

    import server.app
    import server.cli
    import server.http.guard
    import server.logs  # noqa: F401

    control = socket.socket(fileno=control_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the selector through wake_w
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            control.sendall(json.dumps({"exited": pid, "code": code}).encode())

    while True:
        for key, _ in selector.select():
            if key.fileobj == wake_r:
                os.read(wake_r, 4096)
                reap()
                continue
            message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 1)
            if not message:  # the test worker is gone: so are we (children live on until killed)
                return
            request = json.loads(message)
            pid = os.fork()
            if pid == 0:
                _child(request, fds[0], [control.fileno(), wake_r, wake_w])
            os.close(fds[0])
            control.sendall(json.dumps({"started": request["id"], "pid": pid}).encode())


# ---------------------------------------------------------------- the test side


class Forked:
    """A child of the zygote, seen like a `subprocess.Popen` with stdout piped."""

    def __init__(self, zygote: Zygote, pid: int, stdout: IO[bytes]) -> None:
        self.zygote = zygote
        self.pid = pid
        self.stdout: IO[bytes] | None = stdout
        self.returncode: int | None = None
        self.args = ["cobord", "serve"]

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.exit_code(self.pid, 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self.zygote.exit_code(self.pid, timeout)
            if self.returncode is None:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Zygote:
    """One worker's zygote process, started on first use."""

    def __init__(self, cwd: str) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.zygote", str(theirs.fileno())],
            cwd=cwd,
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        self._control = ours
        self._lock = threading.Lock()  # one request at a time
        self._changed = threading.Condition()
        self._started: dict[int, int] = {}
        self._exited: dict[int, int] = {}
        self._next = 0
        self._alive = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                message = self._control.recv(MAX_MESSAGE)
            except OSError:
                message = b""
            with self._changed:
                if not message:
                    self._alive = False
                    self._changed.notify_all()
                    return
                answer = json.loads(message)
                if "started" in answer:
                    self._started[answer["started"]] = answer["pid"]
                else:
                    self._exited[answer["exited"]] = answer["code"]
                self._changed.notify_all()

    def spawn(self, args: list[str], env: dict[str, str], cwd: str) -> Forked:
        read_end, write_end = os.pipe()
        try:
            with self._lock:
                self._next += 1
                request_id = self._next
                message = json.dumps({"id": request_id, "args": args, "env": env, "cwd": cwd})
                socket.send_fds(self._control, [message.encode()], [write_end])
        finally:
            os.close(write_end)
        with self._changed:
            if not self._changed.wait_for(
                lambda: request_id in self._started or not self._alive, timeout=FORK_TIMEOUT
            ):
                os.close(read_end)
                raise RuntimeError(f"the zygote did not fork a server in {FORK_TIMEOUT} s")
            if request_id not in self._started:
                os.close(read_end)
                raise RuntimeError("the zygote exited")
            pid = self._started.pop(request_id)
        return Forked(self, pid, os.fdopen(read_end, "rb"))

    def exit_code(self, pid: int, timeout: float | None) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exited or not self._alive, timeout)
            return self._exited.get(pid)

    @property
    def alive(self) -> bool:
        return self._alive and self._proc.poll() is None

    def close(self) -> None:
        # shutdown, not only close: the reader thread is blocked in recv() on this socket, and a
        # close() alone neither wakes it nor ends the connection (the kernel keeps the socket open
        # while recv() holds it), so the zygote never read its end and close() waited out the
        # 10 s timeout below, at the end of every worker.
        with contextlib.suppress(OSError):
            self._control.shutdown(socket.SHUT_RDWR)
        self._control.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
