"""Summarise py-spy's collapsed stacks: where the samples of each thread went.

``python -m tests.bench.profile_summary FILE [--top N] [--focus NAME]`` prints, per thread,
its share of all samples, then the functions with the largest inclusive share (the
function and what it calls) and self share (the function's own lines). Written for the
profiles ``bench_ingest --profile`` takes; lines look like
``thread (123): name;frame (file:line);frame (file:line) COUNT``.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_FRAME_RE = re.compile(r"(?P<name>.+?) \((?P<file>[^():]+)(?::\d+)?\)")


@dataclass
class ThreadProfile:
    """Samples of one thread, by function (``file:name``)."""

    samples: int = 0
    inclusive: Counter[str] = field(default_factory=Counter)
    own: Counter[str] = field(default_factory=Counter)


def function_of(frame: str) -> str:
    """``name (path/to/file.py:12)`` -> ``file.py:name`` (lines of a function merged)."""
    match = _FRAME_RE.fullmatch(frame)
    if not match:
        return frame
    return f"{Path(match['file']).name}:{match['name']}"


def read_profile(path: Path, focus: str | None = None) -> dict[str, ThreadProfile]:
    """Thread name -> its profile; with ``focus``, only stacks through that function and
    counted from it down."""
    threads: dict[str, ThreadProfile] = {}
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        head, *frames = stack.split(";")
        name = head.split(": ", 1)[-1]
        name = re.sub(r"[-_]?[0-9a-f]{6,}$|-\d+$", "", name)  # client ids, thread numbers
        functions = [function_of(frame) for frame in frames]
        if focus:
            hits = [i for i, f in enumerate(functions) if f.endswith(focus)]
            if not hits:
                continue
            functions = functions[hits[0] :]
        profile = threads.setdefault(name, ThreadProfile())
        count = int(count_text)
        profile.samples += count
        for function in set(functions):
            profile.inclusive[function] += count
        if functions:
            profile.own[functions[-1]] += count
    return threads


def main() -> None:
    """Print the summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--focus", help="only stacks through this function (file.py:name)")
    args = parser.parse_args()
    threads = read_profile(args.profile, args.focus)
    total = sum(p.samples for p in threads.values()) or 1
    for name, profile in sorted(threads.items(), key=lambda item: -item[1].samples):
        if profile.samples < total / 100:
            continue
        print(f"\n== {name}: {profile.samples / total:.1%} of samples")
        print("   inclusive              self")
        rows = zip(
            profile.inclusive.most_common(args.top),
            profile.own.most_common(args.top),
            strict=False,
        )
        for (inc_name, inc), (own_name, own) in rows:
            print(f"   {inc / total:6.1%} {inc_name:<60.60} {own / total:6.1%} {own_name}")


if __name__ == "__main__":
    main()
