"""Each top-level module and subpackage of both packages imports first, in a fresh interpreter.

An import cycle can hide when the test suite happens to import modules in a friendly order;
starting each from scratch catches it. Deeper modules are reached through their subpackages.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import bridge
import exporter

MODULES = sorted(
    info.name
    for package in (bridge, exporter)
    for info in pkgutil.iter_modules(package.__path__, prefix=f"{package.__name__}.")
)


def test_each_module_imports_first_in_a_fresh_interpreter() -> None:
    # One interpreter per module, all started at once.
    procs = [
        (name, subprocess.Popen([sys.executable, "-c", f"import {name}"], stderr=subprocess.PIPE))
        for name in MODULES
    ]
    failures = []
    for name, proc in procs:
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failures.append(f"{name}:\n{err.decode(errors='replace')[-600:]}")
    assert not failures, "\n".join(failures)
