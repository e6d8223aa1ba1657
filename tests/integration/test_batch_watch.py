"""``forge-tasks batch watch`` in a real terminal (tmux) while a batch runs."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from batch_helpers import submit
from harness import ROOT, Workers, sandbox, wait_until

pytestmark = pytest.mark.integration

DONE_PATTERN = re.compile(r"(\d+)/(\d+) done")


def tmux(socket: str, *args: str) -> str:
    result = subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, check=True
    )
    return result.stdout


def done_count(screen: str) -> int | None:
    matches = DONE_PATTERN.findall(screen)
    return int(matches[-1][0]) if matches else None


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


def test_watch_shows_the_done_count_growing(
    forge_env: dict[str, str], workers: Workers, tmp_path: Path
) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed; install it with apt-get install tmux")
    rows = [(f"watch-{i:02d}", "standard", "eu-default") for i in range(10)]
    socket = f"forge-test-{uuid.uuid4().hex[:8]}"
    script = tmp_path / "watch.sh"
    exports = "".join(
        f"export {key}={shlex.quote(value)}\n"
        for key, value in forge_env.items()
        if key.startswith("FORGE_")
    )

    with sandbox(forge_env, tmp_path, "default"):
        workers.start()
        batch_id = submit(rows, concurrency=2)
        script.write_text(
            f"{exports}cd {shlex.quote(str(ROOT))}\n"
            f"exec {shlex.quote(sys.executable)} -m forge_tasks batch watch {batch_id}\n"
        )
        tmux(socket, "new-session", "-d", "-x", "200", "-y", "10", f"bash {script}")
        try:
            tmux(socket, "set-option", "-g", "remain-on-exit", "on")

            def screen_done() -> int | None:
                return done_count(tmux(socket, "capture-pane", "-p"))

            first = wait_until(screen_done, timeout_s=60, what="a first done count")
            second = wait_until(
                lambda: (
                    (count := screen_done()) is not None and count > first and count
                ),
                timeout_s=120,
                what="a larger done count",
            )
        finally:
            subprocess.run(["tmux", "-L", socket, "kill-server"], check=False)

    assert second > first
