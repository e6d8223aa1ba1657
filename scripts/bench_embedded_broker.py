"""Benchmark the two embedded broker options of forge-tasks on this machine.

The options, each used as both Celery broker and result backend:

* ``sqlite``: kombu's SQLAlchemy transport on a SQLite file, with Celery's
  database result backend on a second SQLite file. Run three times: with the
  default polling intervals, with ``polling_interval`` in
  ``broker_transport_options`` (kombu 5.7.0 passes it on to SQLAlchemy's
  ``create_engine()``, which rejects it), and with the intervals lowered to
  0.1-0.2 s by setting the transport class's ``polling_interval`` instead.
* ``fakeredis``: ``fakeredis.TcpFakeServer`` serving the Redis protocol on
  127.0.0.1 from inside the benchmark process, used as ``redis://``.

For each option a runner process starts a worker (``celery worker`` as a
subprocess, concurrency 2). It measures 200 trivial tasks, a chain of 5 tasks,
a chord of 20 chains of 3, and a task that retries itself 5 times with a 0.2 s
countdown. Then it checks whether a separate submitting process reaches the
broker without the process that hosts it. Every wait has a timeout, each runner is
killed after ``--option-timeout`` seconds, and each option works in its own
temporary directory, removed at the end. Nothing listens beyond 127.0.0.1.

Usage::

    .venv/bin/python scripts/bench_embedded_broker.py [--pool threads|prefork]
        [--option NAME ...] [--json FILE]

The script is also the Celery app module of its own worker (``celery -A
bench_embedded_broker``) and its submitting process (``submit``), so task
names are fixed with ``name=`` instead of depending on ``__main__``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from celery import Celery, Task, chain, chord  # type: ignore[import-untyped]
from celery.result import AsyncResult  # type: ignore[import-untyped]

SCRIPT_DIR = Path(__file__).resolve().parent
MODULE_NAME = "bench_embedded_broker"

TRIVIAL_TASK_COUNT = 200
CHAIN_LENGTH = 5
CHAIN_RUNS = 3
CHORD_WIDTH = 20
CHORD_CHAIN_LENGTH = 3
CHORD_RUNS = 2
RETRY_COUNT = 5
RETRY_COUNTDOWN_S = 0.2
RETRY_RUNS = 2
WORKER_CONCURRENCY = 2

WORKER_START_TIMEOUT_S = 60.0
TRIVIAL_TIMEOUT_S = 60.0
CANVAS_TIMEOUT_S = 30.0
SUBMIT_TIMEOUT_S = 30.0
LOST_TASK_WAIT_S = 10.0
WORKER_STOP_TIMEOUT_S = 10.0
DEFAULT_OPTION_TIMEOUT_S = 110.0

ENV_BROKER = "BENCH_BROKER_URL"
ENV_BACKEND = "BENCH_RESULT_BACKEND"
ENV_POLLING = "BENCH_POLLING_INTERVAL_S"
ENV_POLLING_VIA = "BENCH_POLLING_VIA"
ENV_CHORD_RETRY = "BENCH_CHORD_RETRY_INTERVAL_S"


@dataclass(frozen=True)
class Option:
    """One broker and result backend configuration to measure."""

    name: str
    kind: str  # "sqlite" or "fakeredis"
    # None keeps the defaults: kombu polls virtual transports every 1.0 s and
    # Celery retries celery.chord_unlock every 1.0 s.
    polling_interval_s: float | None
    # Where polling_interval_s is set: "transport-options" puts it in
    # broker_transport_options, "class-attribute" on kombu's transport class.
    polling_via: str
    chord_retry_interval_s: float | None
    # Interval of AsyncResult.get() between database reads. Celery's default is
    # 0.5 s, and the Redis backend ignores it because it waits on pub/sub.
    result_poll_interval_s: float


OPTIONS = {
    option.name: option
    for option in (
        Option("sqlite-default", "sqlite", None, "", None, 0.5),
        Option("sqlite-option", "sqlite", 0.1, "transport-options", 0.2, 0.1),
        Option("sqlite-tuned", "sqlite", 0.1, "class-attribute", 0.2, 0.1),
        Option("fakeredis", "fakeredis", None, "", None, 0.5),
    )
}


def _float_from_env(name: str) -> float | None:
    value = os.environ.get(name)
    return float(value) if value else None


def _make_app() -> Celery:
    app = Celery(MODULE_NAME)
    app.conf.update(
        broker_url=os.environ.get(ENV_BROKER, "memory://"),
        result_backend=os.environ.get(ENV_BACKEND, "cache+memory://"),
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
    )
    polling_interval_s = _float_from_env(ENV_POLLING)
    if polling_interval_s is None:
        pass
    elif os.environ.get(ENV_POLLING_VIA) == "class-attribute":
        # Every instance of the transport in this process polls at this interval.
        from kombu.transport import sqlalchemy

        sqlalchemy.Transport.polling_interval = polling_interval_s
    else:
        app.conf.broker_transport_options = {"polling_interval": polling_interval_s}
    chord_retry_interval_s = _float_from_env(ENV_CHORD_RETRY)
    if chord_retry_interval_s is not None:
        app.conf.result_chord_retry_interval = chord_retry_interval_s
    return app


app = _make_app()


@app.task(name="bench.noop")  # type: ignore[untyped-decorator]
def noop(value: int) -> int:
    return value


@app.task(name="bench.add_one")  # type: ignore[untyped-decorator]
def add_one(value: int) -> int:
    return value + 1


@app.task(name="bench.total")  # type: ignore[untyped-decorator]
def total(values: list[int]) -> int:
    return sum(values)


@app.task(  # type: ignore[untyped-decorator]
    name="bench.retry_five_times", bind=True, max_retries=RETRY_COUNT
)
def retry_five_times(self: Task) -> int:
    """Retry until the sixth run, which returns the number of retries (5)."""
    retries: int = self.request.retries
    if retries < RETRY_COUNT:
        raise self.retry(countdown=RETRY_COUNTDOWN_S)
    return retries


# ---------------------------------------------------------------------------
# Runner: one option, one worker, the measurements.
# ---------------------------------------------------------------------------


class Runner:
    """Measure one option and print each result as a JSON line on stdout."""

    def __init__(self, option: Option, workdir: Path, pool: str, port: int) -> None:
        self.option = option
        self.workdir = workdir
        self.pool = pool
        self.port = port
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_starts = 0
        self.fake_server: Any = None

    # Broker hosting and worker control.

    def start_fake_server(self) -> None:
        from fakeredis import TcpFakeServer

        self.fake_server = TcpFakeServer(("127.0.0.1", self.port))
        thread = threading.Thread(target=self.fake_server.serve_forever, daemon=True)
        thread.start()

    def stop_fake_server(self) -> None:
        if self.fake_server is None:
            return
        self.fake_server.shutdown()
        self.fake_server.server_close()
        self.fake_server = None

    def start_worker(self) -> None:
        self.worker_starts += 1
        log_path = self.workdir / f"worker-{self.worker_starts}.log"
        command = [
            sys.executable, "-m", "celery", "-A", MODULE_NAME, "worker",
            f"--pool={self.pool}", f"--concurrency={WORKER_CONCURRENCY}",
            "--loglevel=INFO", "--without-gossip", "--without-mingle",
            "--without-heartbeat", f"--hostname=bench{self.worker_starts}@127.0.0.1",
        ]  # fmt: skip
        python_path = os.pathsep.join(
            filter(None, [str(SCRIPT_DIR), os.environ.get("PYTHONPATH")])
        )
        env = dict(os.environ, PYTHONPATH=python_path)
        with log_path.open("wb") as log:
            self.worker = subprocess.Popen(
                command, cwd=SCRIPT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def stop_worker(self) -> None:
        if self.worker is None:
            return
        self.worker.send_signal(signal.SIGTERM)
        try:
            self.worker.wait(timeout=WORKER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.worker.kill()
            self.worker.wait()
        self.worker = None

    def wait_until_worker_ready(self, name: str) -> bool:
        """Round-trip one task, and stop waiting early if the worker exits."""
        with self.measure(name) as record:
            result = noop.delay(1)
            deadline = time.perf_counter() + WORKER_START_TIMEOUT_S
            while not result.ready():
                if self.worker is not None and self.worker.poll() is not None:
                    raise RuntimeError(
                        f"worker exited with code {self.worker.returncode}: "
                        f"{self.last_worker_error()}"
                    )
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"no result in {WORKER_START_TIMEOUT_S} s")
                time.sleep(self.option.result_poll_interval_s)
            record["ok"] = result.get(timeout=1) == 1
        ready: bool = record["ok"]
        return ready

    def last_worker_error(self) -> str:
        log_path = self.workdir / f"worker-{self.worker_starts}.log"
        lines = log_path.read_text(errors="replace").splitlines()
        errors = [line for line in lines if "Error" in line or "CRITICAL" in line]
        return errors[-1][:300] if errors else "no error in the worker log"

    # Reporting.

    def emit(self, record: dict[str, Any]) -> None:
        record["option"] = self.option.name
        print(json.dumps(record), flush=True)

    @contextmanager
    def measure(self, name: str) -> Iterator[dict[str, Any]]:
        """Time the block and emit a record, with any exception as ``error``."""
        record: dict[str, Any] = {"measure": name, "ok": True}
        started = time.perf_counter()
        try:
            yield record
        except Exception as exc:  # noqa: BLE001 - a failure is a result here
            record["ok"] = False
            record["error"] = f"{type(exc).__name__}: {exc}"[:300]
        record["seconds"] = round(time.perf_counter() - started, 3)
        self.emit(record)

    def get(self, result: AsyncResult, timeout: float) -> Any:
        return result.get(timeout=timeout, interval=self.option.result_poll_interval_s)

    # Measurements.

    def measure_trivial_tasks(self) -> None:
        name = f"{TRIVIAL_TASK_COUNT} trivial tasks"
        with self.measure(name) as record:
            started = time.perf_counter()
            results = [noop.delay(i) for i in range(TRIVIAL_TASK_COUNT)]
            record["submit_seconds"] = round(time.perf_counter() - started, 3)
            deadline = started + TRIVIAL_TIMEOUT_S
            values = [
                self.get(result, max(deadline - time.perf_counter(), 0.1))
                for result in results
            ]
            record["ok"] = values == list(range(TRIVIAL_TASK_COUNT))

    def measure_repeated(
        self, name: str, runs: int, build: Callable[[], AsyncResult], expected: int
    ) -> None:
        with self.measure(name) as record:
            durations = []
            for _ in range(runs):
                started = time.perf_counter()
                value = self.get(build(), CANVAS_TIMEOUT_S)
                durations.append(round(time.perf_counter() - started, 3))
                if value != expected:
                    raise AssertionError(f"returned {value!r}, expected {expected}")
            record["runs_seconds"] = durations
            record["median_seconds"] = round(statistics.median(durations), 3)

    def measure_canvases(self) -> None:
        def build_chain() -> AsyncResult:
            steps = [add_one.s(0)] + [add_one.s() for _ in range(CHAIN_LENGTH - 1)]
            return chain(*steps).apply_async()

        def build_chord() -> AsyncResult:
            header = [
                chain(
                    add_one.s(i), *[add_one.s() for _ in range(CHORD_CHAIN_LENGTH - 1)]
                )
                for i in range(CHORD_WIDTH)
            ]
            return chord(header)(total.s())

        chord_expected = sum(range(CHORD_WIDTH)) + CHORD_WIDTH * CHORD_CHAIN_LENGTH
        self.measure_repeated(
            f"chain of {CHAIN_LENGTH}", CHAIN_RUNS, build_chain, CHAIN_LENGTH
        )
        self.measure_repeated(
            f"chord of {CHORD_WIDTH} chains of {CHORD_CHAIN_LENGTH}",
            CHORD_RUNS,
            build_chord,
            chord_expected,
        )
        self.measure_repeated(
            f"{RETRY_COUNT} retries, countdown {RETRY_COUNTDOWN_S} s",
            RETRY_RUNS,
            retry_five_times.delay,
            RETRY_COUNT,
        )

    def run_submitter(self, name: str, *, wait: bool) -> str | None:
        """Run ``submit`` in a separate process and return the task id it printed."""
        with self.measure(name) as record:
            command = [sys.executable, __file__, "submit"]
            if wait:
                command.append("--wait")
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=SUBMIT_TIMEOUT_S,
                check=False,
            )
            output = completed.stdout.strip().splitlines()
            record["returncode"] = completed.returncode
            if completed.returncode != 0 or not output:
                record["ok"] = False
                stderr_lines = completed.stderr.strip().splitlines()
                record["error"] = stderr_lines[-1] if stderr_lines else "no output"
                return None
            task_id: str = json.loads(output[-1])["task_id"]
            return task_id
        return None

    def measure_separate_process(self) -> None:
        """Check what a second process can do with and without the host."""
        self.run_submitter("separate process, worker running", wait=True)

        self.stop_worker()
        queued_id = self.run_submitter("separate process, no worker", wait=False)
        if self.option.kind == "fakeredis":
            # The broker lives in this process, so stopping it is what happens
            # when the process that hosts it exits.
            self.stop_fake_server()
            self.run_submitter("separate process, host stopped", wait=False)
            self.start_fake_server()
        self.start_worker()
        self.wait_until_worker_ready("worker restart")

        if queued_id is None:
            return
        with self.measure("task queued with no worker runs after restart") as record:
            value = self.get(noop.AsyncResult(queued_id), LOST_TASK_WAIT_S)
            record["ok"] = value == 0

    def report_sqlite_tables(self) -> None:
        if self.option.kind != "sqlite":
            return
        with self.measure("broker.db after the run") as record:
            path = self.workdir / "broker.db"
            connection = sqlite3.connect(path)
            try:
                rows, pending = connection.execute(
                    "SELECT COUNT(*), SUM(visible) FROM kombu_message"
                ).fetchone()
            finally:
                connection.close()
            record["message_rows"] = rows
            record["visible_rows"] = pending
            record["bytes"] = path.stat().st_size

    def run(self) -> None:
        """Run every measurement; the app was configured from ``option_env``."""
        if self.option.kind == "fakeredis":
            # kombu's Redis transport releases its locks with a Lua script, and
            # fakeredis runs Lua only when lupa is installed.
            with self.measure("lupa installed (fakeredis Lua)") as record:
                record["ok"] = importlib.util.find_spec("lupa") is not None
            self.start_fake_server()
        try:
            self.start_worker()
            # The measurements below would only time out one after another.
            if not self.wait_until_worker_ready("worker start"):
                return
            self.measure_trivial_tasks()
            self.measure_canvases()
            self.measure_separate_process()
            self.report_sqlite_tables()
        finally:
            self.stop_worker()
            self.stop_fake_server()


def submit(wait: bool) -> int:
    """Send one ``bench.noop(0)`` and print its task id (and result, with ``wait``)."""
    result = noop.delay(0)
    record: dict[str, Any] = {"task_id": result.id}
    if wait:
        record["value"] = result.get(timeout=SUBMIT_TIMEOUT_S - 5, interval=0.1)
    print(json.dumps(record), flush=True)
    return 0


# ---------------------------------------------------------------------------
# Top level: one runner process per option, bounded in time.
# ---------------------------------------------------------------------------


def option_env(option: Option, workdir: Path, port: int) -> dict[str, str]:
    """Return the environment that configures the app for ``option``."""
    if option.kind == "sqlite":
        broker = f"sqla+sqlite:///{workdir / 'broker.db'}"
        backend = f"db+sqlite:///{workdir / 'results.db'}"
    else:
        broker = backend = f"redis://127.0.0.1:{port}/0"
    env = dict(os.environ)
    env[ENV_BROKER] = broker
    env[ENV_BACKEND] = backend
    if option.polling_interval_s is not None:
        env[ENV_POLLING] = str(option.polling_interval_s)
        env[ENV_POLLING_VIA] = option.polling_via
    if option.chord_retry_interval_s is not None:
        env[ENV_CHORD_RETRY] = str(option.chord_retry_interval_s)
    return env


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _kill_group(process: subprocess.Popen[str]) -> None:
    """Kill what is left of the runner's process group (its worker, its submitters)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class _Deadline:
    """Kill a runner's process group when its time is up, and remember that."""

    def __init__(self, process: subprocess.Popen[str], timeout_s: float) -> None:
        self.process = process
        self.expired = False
        self.timer = threading.Timer(timeout_s, self._expire)
        self.timer.start()

    def _expire(self) -> None:
        self.expired = True
        _kill_group(self.process)


def run_option(option: Option, pool: str, timeout_s: float) -> list[dict[str, Any]]:
    """Run one option in its own process group and temporary directory."""
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix=f"bench-{option.name}-") as workdir:
        port = _free_port()
        command = [
            sys.executable, __file__, "run-option", option.name,
            "--workdir", workdir, "--pool", pool, "--port", str(port),
        ]  # fmt: skip
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            text=True,
            env=option_env(option, Path(workdir), port),
            start_new_session=True,
        )
        assert process.stdout is not None
        deadline = _Deadline(process, timeout_s)
        try:
            records.extend(_read_records(process.stdout, sys.stderr))
            process.wait()
        finally:
            deadline.timer.cancel()
            _kill_group(process)
        elapsed = round(time.monotonic() - started, 1)
        timed_out = deadline.expired
        records.append(
            {
                "option": option.name,
                "measure": "runner",
                "ok": process.returncode == 0 and not timed_out,
                "seconds": elapsed,
                "returncode": process.returncode,
                "timed_out": timed_out,
                "worker_log_tail": _worker_log_tail(Path(workdir)),
            }
        )
    return records


def _read_records(stream: IO[str], echo: IO[str]) -> Iterator[dict[str, Any]]:
    for line in stream:
        echo.write(line)
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue


def _worker_log_tail(workdir: Path, lines: int = 15) -> list[str]:
    """Return the last lines of each worker log that contain ERROR, WARNING or Error."""
    tail: list[str] = []
    for log in sorted(workdir.glob("worker-*.log")):
        text = log.read_text(errors="replace").splitlines()
        flagged = [
            line[:200]
            for line in text
            if "ERROR" in line or "WARNING" in line or "Error" in line
        ]
        tail.extend(f"{log.name}: {line}" for line in flagged[-lines:])
    return tail


def print_summary(records: list[dict[str, Any]]) -> None:
    for record in records:
        seconds = record.get("median_seconds", record.get("seconds"))
        status = "ok" if record.get("ok") else "FAILED"
        extra = record.get("error") or record.get("runs_seconds") or ""
        print(
            f"{record['option']:15} {record['measure']:45} {status:6} "
            f"{seconds!s:>8} s  {extra}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")

    bench = commands.add_parser("bench", help="measure the options (the default)")
    bench.add_argument(
        "--pool",
        choices=("threads", "prefork"),
        default="threads",
        help=f"worker pool, with concurrency {WORKER_CONCURRENCY}",
    )
    bench.add_argument(
        "--option",
        action="append",
        choices=sorted(OPTIONS),
        help="measure only this option; repeat to measure several (default: all)",
    )
    bench.add_argument("--json", type=Path, help="write all records to this file")
    bench.add_argument(
        "--option-timeout",
        type=float,
        default=DEFAULT_OPTION_TIMEOUT_S,
        help="seconds after which one option's processes are killed",
    )

    runner = commands.add_parser("run-option", help="internal: measure one option")
    runner.add_argument("name", choices=sorted(OPTIONS))
    runner.add_argument("--workdir", type=Path, required=True)
    runner.add_argument("--pool", required=True)
    runner.add_argument("--port", type=int, required=True)

    submitter = commands.add_parser("submit", help="internal: send one task")
    submitter.add_argument("--wait", action="store_true")

    args = parser.parse_args(argv if argv is not None else sys.argv[1:] or ["bench"])
    if args.command == "run-option":
        Runner(OPTIONS[args.name], args.workdir, args.pool, args.port).run()
        return 0
    if args.command == "submit":
        return submit(args.wait)

    records: list[dict[str, Any]] = []
    for name in args.option or list(OPTIONS):
        records.extend(run_option(OPTIONS[name], args.pool, args.option_timeout))
    print(
        f"\npool={args.pool}, concurrency={WORKER_CONCURRENCY}, cpus={os.cpu_count()}"
    )
    print_summary(records)
    if args.json:
        args.json.write_text(json.dumps(records, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
