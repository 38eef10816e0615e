"""py-spy on the portal's workers, and what its samples say: where a page's time goes.

`record` samples the threads that hold the GIL (`--gil`): Python's own work, not the waits
on sockets. `summary` reads the collapsed stacks it writes and lists the functions with the
largest share of the samples, counting each function once per sample (inclusive).
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys
from pathlib import Path

PY_SPY = Path(sys.executable).with_name("py-spy")
_FRAME = re.compile(r"(?P<name>.*) \((?P<file>.*?)(?::\d+)?\)$")


def record(pid: int, seconds: float, output: Path) -> subprocess.Popen:
    """Start py-spy on one process for `seconds`; wait on the returned process."""
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [str(PY_SPY), "record", "--pid", str(pid), "--duration", str(max(1, round(seconds)))]
    command += ["--rate", "250", "--gil", "--nonblocking", "--format", "raw", "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _frame(text: str) -> str:
    found = _FRAME.match(text)
    if not found:
        return text
    where = found["file"].split("site-packages/")[-1]
    where = where.split("/work/main/")[-1] if "/work/main/" in where else where.rsplit("/lib/python3", 1)[-1]
    return f"{found['name']} ({where})"


def summary(files: list[Path], top: int = 40) -> str:
    """The `top` functions by share of the samples (inclusive), from py-spy's raw output."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            total += int(count)
            for frame in {_frame(part) for part in stack.split(";")}:
                inclusive[frame] += int(count)
    lines = [f"{total} samples of the threads holding the GIL, in {len(files)} file(s)"]
    lines += [f"{count * 100 / total:5.1f} %  {frame}" for frame, count in inclusive.most_common(top)] if total else []
    return "\n".join(lines)
