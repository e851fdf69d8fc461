"""``serve`` with several worker processes on one listening socket.

One bridge process runs one event loop, so it uses one core. ``workers: N`` (or ``serve
--workers N``) makes ``serve`` a small supervisor: it binds the listen address itself, then
forks N workers that each run the whole bridge on that inherited socket; the kernel hands each
new connection to whichever worker accepts first, usually an idle one. The workers are
replicas on one machine: they share PostgreSQL and Redis exactly as replicas on several
machines do (receipt leases, escalation claims, the Redis dedupe index), which is why more than
one worker needs both. Worker 0 alone runs the periodic chores that would only repeat each
other's work (expiry sweep, open-alert counts, retention, asset sync).

The supervisor only supervises:

- SIGTERM or SIGINT: it sends each worker one SIGTERM and waits for them to drain (a worker
  finishes its queued pipeline work before it exits); workers still running after
  ``STOP_TIMEOUT_SECONDS`` are killed, and the next recovery sweep finds what they left.
  The workers sit in their own process group, so a terminal's Ctrl-C reaches the supervisor
  only and every worker is asked to stop once.
- A worker that dies is started again, unless it dies before it was ready (it cannot start:
  the store or Redis is unreachable): then the supervisor stops the others and exits 1, as a
  single-process bridge would. Workers say they are ready over a pipe.
- A worker whose supervisor disappears (killed with SIGKILL) stops itself within a second.

Metrics: each worker keeps its counters, histograms and gauges in files in one directory
(prometheus_client's multiprocess mode: ``PROMETHEUS_MULTIPROC_DIR`` if set, else a temporary
directory removed at exit), and whichever worker Prometheus reaches answers ``/metrics`` with
the values of all of them combined.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import FrameType

from aiohttp import web
from prometheus_client.multiprocess import mark_process_dead

from bridge.config import BridgeConfig
from bridge.frozen import frozen

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
STOP_TIMEOUT_SECONDS = 60.0  # then SIGKILL; longer than a worker's drain and store close
POLL_SECONDS = 0.1
PARENT_CHECK_SECONDS = 1.0
BACKLOG = 1024


@frozen
class WorkerSlot:
    """What one worker process is told: its number, the shared socket, the metrics files."""

    index: int
    sock: socket.socket
    metrics_dir: Path
    supervisor_pid: int
    ready_fd: int

    @property
    def runs_chores(self) -> bool:
        return self.index == 0

    async def supervised(self, app: web.Application) -> AsyncIterator[None]:
        """The last cleanup context: tell the supervisor this worker is ready, and stop the
        worker if the supervisor is gone (the worker was re-parented)."""
        os.write(self.ready_fd, f"{os.getpid()}\n".encode())
        task = asyncio.create_task(self._watch(), name="supervisor-watch")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        while os.getppid() == self.supervisor_pid:  # noqa: ASYNC110  # nothing to wait on
            await asyncio.sleep(PARENT_CHECK_SECONDS)
        logger.error("the supervisor (pid %d) is gone; stopping", self.supervisor_pid)
        os.kill(os.getpid(), signal.SIGTERM)


ServeWorker = Callable[[BridgeConfig, WorkerSlot], int]


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker serves, bound once here: a port already taken fails
    before any worker starts, and no other process can join it the way SO_REUSEPORT allows."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def supervise(config: BridgeConfig, serve_worker: ServeWorker) -> int:
    """Run ``config.workers`` workers until a signal stops them; the exit code for ``serve``."""
    sock = bind(config.listen_host, config.listen_port)
    preset = os.environ.get(MULTIPROC_ENV)
    metrics_dir = Path(preset) if preset else Path(tempfile.mkdtemp(prefix="secmon-bridge-"))
    try:
        _clear_metrics(metrics_dir)
        os.environ[MULTIPROC_ENV] = str(metrics_dir)
        return _Supervisor(config, serve_worker, sock, metrics_dir).run()
    finally:
        sock.close()
        if preset:
            _clear_metrics(metrics_dir)
        else:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)


def _clear_metrics(directory: Path) -> None:
    """Values a previous run left behind would be added to this run's."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


class _Supervisor:
    def __init__(
        self,
        config: BridgeConfig,
        serve_worker: ServeWorker,
        sock: socket.socket,
        metrics_dir: Path,
    ) -> None:
        self._config = config
        self._serve_worker = serve_worker
        self._sock = sock
        self._metrics_dir = metrics_dir
        self._workers: dict[int, int] = {}  # pid -> index
        self._ready: set[int] = set()
        self._ready_read, self._ready_write = os.pipe()
        os.set_blocking(self._ready_read, False)
        self._ready_buffer = b""
        self._stop_requested_at: float | None = None
        self._killed = False
        self._failed = False

    def run(self) -> int:
        handlers = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            logger.info("starting %d workers on %s", self._config.workers, self._config.listen)
            for index in range(self._config.workers):
                self._start(index)
            while self._workers:
                self._read_ready()
                self._reap()
                if self._overdue() and not self._killed:
                    self._killed = True
                    for pid in self._workers:
                        logger.error("worker pid %d did not stop in time; killing it", pid)
                        _signal(pid, signal.SIGKILL)
                time.sleep(POLL_SECONDS)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            os.close(self._ready_read)
            os.close(self._ready_write)
        logger.info("all workers stopped")
        return 1 if self._failed else 0

    def _start(self, index: int) -> None:
        slot = WorkerSlot(index, self._sock, self._metrics_dir, os.getpid(), self._ready_write)
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the supervisor's loop
            code = 1
            try:
                os.close(self._ready_read)
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, signal.SIG_DFL)
                os.setpgid(0, 0)
                code = self._serve_worker(self._config, slot)
            except BaseException:
                logger.exception("worker %d failed", index)
            finally:
                logging.shutdown()
                os._exit(code)
        self._workers[pid] = index
        logger.info("worker %d started (pid %d)", index, pid)
        if self._stop_requested_at is not None:  # a signal came while it was being forked
            _signal(pid, signal.SIGTERM)

    def _read_ready(self) -> None:
        try:
            while chunk := os.read(self._ready_read, 4096):
                self._ready_buffer += chunk
        except BlockingIOError:
            pass
        *lines, self._ready_buffer = self._ready_buffer.split(b"\n")
        self._ready.update(int(line) for line in lines if line.strip().isdigit())

    def _reap(self) -> None:
        while self._workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self._workers.clear()
                return
            if pid == 0:
                return
            if pid not in self._workers:
                continue
            index = self._workers.pop(pid)
            was_ready = pid in self._ready
            self._ready.discard(pid)
            mark_process_dead(pid, str(self._metrics_dir))  # type: ignore[no-untyped-call]
            code = os.waitstatus_to_exitcode(status)
            how = f"exit code {code}" if code >= 0 else f"signal {-code}"
            if self._stop_requested_at is not None:
                if code != 0:
                    self._failed = True
                    logger.warning("worker %d (pid %d) stopped with %s", index, pid, how)
                continue
            if not was_ready:
                logger.error("worker %d (pid %d) could not start (%s); stopping", index, pid, how)
                self._failed = True
                self._stop()
                continue
            logger.error("worker %d (pid %d) ended with %s; starting it again", index, pid, how)
            self._start(index)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stop_requested_at is None:
            logger.info("%s: stopping %d workers", signal.Signals(signum).name, len(self._workers))
            self._stop()

    def _stop(self) -> None:
        self._stop_requested_at = time.monotonic()
        for pid in self._workers:
            _signal(pid, signal.SIGTERM)

    def _overdue(self) -> bool:
        return (
            self._stop_requested_at is not None
            and time.monotonic() - self._stop_requested_at > STOP_TIMEOUT_SECONDS
        )


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
