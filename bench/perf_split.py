"""Where a server's CPU went, from a `perf record -g` of it: per thread, per system call, per
library. What the README's "where c200's CPU goes" figures were read from.

    perf record -F 1999 -g -p <server pid> -o /tmp/cobord.data -- sleep 10   # during a bench run
    perf script -i /tmp/cobord.data -F comm,tid,ip,sym,dso > /tmp/cobord.txt
    .venv/bin/python bench/perf_split.py /tmp/cobord.txt --hz 1999

Each sample is one stack (innermost frame first). A sample whose stack passes through a system
call counts for that call (named by the handler `do_syscall_64` called); one in the kernel without
one (an interrupt, a softirq), for "kernel, no system call"; the rest for the library of its
innermost frame.
Seconds are samples / --hz.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_DSO = re.compile(r"\(([^()]*)\)\s*$")
_HANDLER_PREFIX = re.compile(r"^(?:__x64_sys_|__do_sys_|ksys_|__sys_|do_)")


def classify(frames: list[str]) -> str:
    """A stack's kind: the system call it is in (the handler `do_syscall_64` called: its name
    without the `__x64_sys_`, `ksys_`, `do_` prefixes), else the innermost frame's library."""
    names = [frame.split(None, 1)[1] if " " in frame else frame for frame in frames]
    for index, name in enumerate(names):
        if name.startswith("do_syscall_64 ") and index > 0:
            handler = names[index - 1].split(" ", 1)[0]
            return f"syscall {_HANDLER_PREFIX.sub('', handler)}"
    if not frames:
        return "unknown"
    dso = _DSO.search(frames[0])
    library = Path(dso.group(1)).name if dso else "unknown"
    return "kernel, no system call" if library == "[kernel.kallsyms]" else library


def samples(text: str) -> list[tuple[str, list[str]]]:
    """(thread id, frames) for each sample of `perf script -F comm,tid,ip,sym,dso`."""
    out = []
    for block in text.split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if not lines:
            continue
        head = lines[0].split()
        out.append((head[1] if len(head) > 1 else "?", lines[1:]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("script", type=Path, help="output of perf script -F comm,tid,ip,sym,dso")
    parser.add_argument("--hz", type=float, default=1999, help="perf record's -F")
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    every = samples(args.script.read_text())
    threads = Counter(tid for tid, _ in every)
    print(f"{len(every)} samples, {len(every) / args.hz:.2f} s of CPU")
    for tid, count in threads.most_common():
        kinds = Counter(classify(frames) for t, frames in every if t == tid)
        print(f"thread {tid}: {count / args.hz:.2f} s")
        for kind, n in kinds.most_common(args.top):
            print(f"    {n / args.hz:6.3f} s  {kind}")


if __name__ == "__main__":
    main()
