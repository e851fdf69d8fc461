"""Pytest plugin: child processes started by tests, torn down after, and their logs on failure.

``launch`` starts a :class:`~tests.harness.stack.ManagedProcess` and registers it; when a test
fails, the last lines of every registered process's log are attached to the report, so a red
end-to-end test says what Prometheus, Alertmanager, the exporter or the bridge complained about.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest

from tests.harness.services import require_binary
from tests.harness.stack import ALERTMANAGER_BINARIES, ManagedProcess

_REGISTERED: list[ManagedProcess] = []

Launcher = Callable[[ManagedProcess], ManagedProcess]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.failed:
        for process in _REGISTERED:
            report.sections.append((f"{process.name} output ({process.log_path})", process.tail()))


@pytest.fixture
def launch() -> Iterator[Launcher]:
    """Start processes for one test; every one is stopped when the test ends."""
    started: list[ManagedProcess] = []

    def start(process: ManagedProcess) -> ManagedProcess:
        process.start()
        started.append(process)
        _REGISTERED.append(process)
        return process

    yield start
    for process in reversed(started):
        process.stop()
        _REGISTERED.remove(process)


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    return require_binary("prometheus")


@pytest.fixture(scope="session")
def promtool_binary() -> str:
    return require_binary("promtool")


@pytest.fixture(scope="session")
def alertmanager_binary() -> str:
    return require_binary(*ALERTMANAGER_BINARIES)


@pytest.fixture(scope="session")
def amtool_binary() -> str:
    return require_binary("amtool")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A per-test directory for rendered configs, data directories and process logs."""
    return tmp_path
