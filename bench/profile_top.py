"""Top hot spots of a py-spy `--format raw` profile (collapsed stacks: "f1;f2;...;fN count").

    .venv/bin/python bench/profile_top.py prof.raw [--top 25]

Prints, as shares of all (non-idle) samples: self time by function (the frame on top of the stack)
and inclusive time by function (counted once per stack), line numbers dropped.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE_NO = re.compile(r":\d+\)$")


def frame_name(frame: str) -> str:
    """'send (uvicorn/protocols/websockets/websockets_sansio_impl.py:123)' without the line."""
    name = _LINE_NO.sub(")", frame.strip())
    name = re.sub(r"\(/[^()]*?/(?:site|dist)-packages/", "(", name)
    name = re.sub(r"\(/[^()]*?/lib/python3\.\d+/", "(stdlib/", name)
    return re.sub(r"\(/[^()]*?/bench/\.work/src-[0-9a-f]+/", "(", name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in Path(args.profile).read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";") if f]
        frames = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    print(f"{total} samples ({args.profile})\n")
    print("## self time (top of stack)\n")
    print("| share | function |")
    print("|---|---|")
    for name, count in own.most_common(args.top):
        print(f"| {100 * count / max(1, total):.1f} % | `{name}` |")
    print("\n## inclusive time\n")
    print("| share | function |")
    print("|---|---|")
    for name, count in inclusive.most_common(args.top):
        print(f"| {100 * count / max(1, total):.1f} % | `{name}` |")


if __name__ == "__main__":
    main()
