"""Processes and waits for the integration tests: the sandbox, workers, a batch.

Everything runs on 127.0.0.1: the sandbox and the workers are subprocesses
started with the test's own FORGE_* environment, and the test process itself
submits batches and reads the store with the same settings.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "config" / "scenarios"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.2,
) -> T:
    """Poll ``condition`` until it returns a truthy value; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_service(
    name: str, args: list[str], env: dict[str, str], folder: Path
) -> Service:
    log_path = folder / f"{name}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "forge_tasks", *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )
    return Service(name, process, log_path)


@dataclass
class Sandbox:
    url: str
    service: Service

    def get(self, path: str) -> Any:
        response = requests.get(self.url + path, timeout=10)
        response.raise_for_status()
        return response.json()

    def requests_log(self, account_id: str | None = None) -> list[dict[str, Any]]:
        query = f"?account_id={account_id}" if account_id else ""
        return list(self.get("/sandbox/requests" + query))

    def instances(self) -> list[dict[str, Any]]:
        return list(self.get("/sandbox/instances"))

    def put_scenario(self, document: dict[str, Any]) -> None:
        response = requests.put(
            self.url + "/sandbox/scenario", json=document, timeout=10
        )
        response.raise_for_status()


@contextmanager
def sandbox(env: dict[str, str], folder: Path, scenario: str) -> Iterator[Sandbox]:
    port = env["FORGE_GATEWAYFORGE_URL"].rsplit(":", 1)[1]
    service = start_service(
        "sandbox",
        ["sandbox", "--port", port, "--scenario", str(SCENARIOS / f"{scenario}.json")],
        env,
        folder,
    )
    box = Sandbox(env["FORGE_GATEWAYFORGE_URL"], service)

    def answers() -> bool:
        if service.process.poll() is not None:
            raise AssertionError(f"the sandbox exited:\n{service.log()}")
        try:
            return requests.get(box.url + "/sandbox/scenario", timeout=2).ok
        except requests.RequestException:
            return False

    try:
        wait_until(answers, timeout_s=30, what="the sandbox to answer")
        yield box
    finally:
        service.stop()


@dataclass
class Workers:
    env: dict[str, str]
    folder: Path
    started: list[Service] = field(default_factory=list)

    def start(self, name: str = "worker1", concurrency: int = 4) -> Service:
        service = start_service(
            name,
            [
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}@%h",
            ],
            self.env,
            self.folder,
        )
        self.started.append(service)
        return service

    def stop_all(self) -> None:
        for service in self.started:
            service.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {s.name} ---\n{s.log()}" for s in self.started)
