"""The Dockerfile's steps, run without a Docker engine: read the Dockerfile, do what each
instruction says in temporary folders and a fresh venv, then start the image's ENTRYPOINT and run
its HEALTHCHECK. So a Dockerfile that forgets a file the build needs, installs something that
does not start, or checks health wrongly fails here, in CI, although no engine runs on these
machines.

What is not tried (it needs an engine): the base image itself (`python:3.11-slim`; here: this
machine's Python in a fresh venv), `useradd` and `USER` (the server runs as the CI user),
`VOLUME` and `EXPOSE`. Container paths (/src, /wheels, /data) are mapped to temporary folders.
Usage: python .ci/container_steps.py (exit code 0 = every step ran and the health check passed)
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_TRIED = ("useradd", "USER", "VOLUME", "EXPOSE")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line: continuations joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        word, _, rest = whole.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="cobord-container-"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    paths = {"/src": work / "src", "/wheels": work / "wheels", "/data": work / "data"}
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"  # `pip`, `python`, `cobord` are the venv's
    stage_dirs: dict[str, Path] = {}
    cwd = work
    entrypoint: list[str] = []
    health: str = ""

    def host(text: str) -> str:
        for inside, outside in paths.items():
            text = text.replace(inside, str(outside))
        return text

    for word, args in instructions((ROOT / "Dockerfile").read_text()):
        if word == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else parts[0]
            stage_dirs[name] = cwd
            print(f"FROM {args}: this machine's Python, in {venv}")
        elif word == "WORKDIR":
            cwd = Path(host(args))
            cwd.mkdir(parents=True, exist_ok=True)
        elif word == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                env[key] = host(value)
        elif word == "COPY":
            parts = args.split()
            if parts[0].startswith("--from="):
                parts = parts[1:]  # the earlier stage's files are in the same mapped folders
                sources, target = [Path(host(p)) for p in parts[:-1]], Path(host(parts[-1]))
            else:
                sources = [ROOT / p for p in parts[:-1]]
                target = Path(host(parts[-1])) if parts[-1].startswith("/") else cwd / parts[-1]
            for source in sources:
                if source == target:
                    continue  # a stage's folder seen from the next stage: the same host folder
                if not source.exists():
                    print(f"COPY {args}: {source} does not exist", file=sys.stderr)
                    return 1
                if source.is_dir() and len(sources) == 1 and not parts[-1].endswith("/"):
                    shutil.copytree(source, target, dirs_exist_ok=True)
                elif source.is_dir():
                    shutil.copytree(source, target / source.name, dirs_exist_ok=True)
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target / source.name)
        elif word == "RUN":
            steps = [s.strip() for s in host(args).split("&&")]
            for step in steps:
                if step.split()[0] in NOT_TRIED:
                    print(f"RUN {step.split()[0]} ...: not tried (needs a container)")
                    continue
                print(f"RUN {step}")
                subprocess.run(["bash", "-c", step], cwd=cwd, env=env, check=True)
        elif word == "ENTRYPOINT":
            entrypoint = [host(a) for a in json.loads(args)]
        elif word == "HEALTHCHECK":
            health = args.split(" CMD ", 1)[1]
        elif word in NOT_TRIED:
            print(f"{word} {args}: not tried (needs a container)")
        else:
            print(f"unknown Dockerfile instruction {word}: teach this script", file=sys.stderr)
            return 1

    port = free_port()
    env["PORT"] = str(port)
    server = subprocess.Popen(
        [*entrypoint, "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # the image's own HEALTHCHECK, run as Docker would (in the container's shell)
            check = subprocess.run(["sh", "-c", health], cwd=cwd, env=env, capture_output=True)
            if check.returncode == 0:
                break
            if time.monotonic() > deadline or server.poll() is not None:
                print("the HEALTHCHECK never passed", file=sys.stderr)
                return 1
            time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            if b"<html" not in page.read(4096).lower():
                print("/ is not the web client", file=sys.stderr)
                return 1
        if not (paths["/data"] / "cobord.db").exists():
            print("no /data/cobord.db: the image's DATABASE_URL was not used", file=sys.stderr)
            return 1
        print(f"container steps: built, installed, started `{' '.join(entrypoint)}`, healthy")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
