"""Build the wheel, install it in a fresh venv, run `cobord serve` from another directory and fetch
the web client: `/` and every file under static/ must come back byte for byte, plus /healthz.

The editable install the tests use hides packaging mistakes; this is what a deployer runs.
Usage: python .ci/wheel_smoke.py  (exit code 0 = the installed wheel serves the whole client)
"""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    try:
        response = urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    with response:
        body = response.read()
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return response.status, body


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="cobord-wheel-"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"),
         str(ROOT)],
        check=True,
    )
    wheel = next((work / "dist").glob("cobord-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    subprocess.run([str(work / "venv/bin/pip"), "install", "-q", str(wheel)], check=True)
    run_dir = work / "elsewhere"
    run_dir.mkdir()
    port = free_port()
    unset = ("DATABASE_URL", "REDIS_URL", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    server = subprocess.Popen(
        [str(work / "venv/bin/cobord"), "serve", "--port", str(port)],
        cwd=run_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:  # a separate process: poll its health endpoint until it answers
            try:
                if fetch(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print("server did not start", file=sys.stderr)
                return 1
            time.sleep(0.2)
        failures = []
        status, body = fetch(f"{base}/")
        if status != 200 or body != (ROOT / "static/index.html").read_bytes():
            failures.append(f"/ -> {status}")
        assets = [p for p in (ROOT / "static").rglob("*") if p.is_file()]
        for path in assets:
            rel = path.relative_to(ROOT / "static").as_posix()
            status, body = fetch(f"{base}/{rel}")
            if status != 200 or body != path.read_bytes():
                failures.append(f"/{rel} -> {status}, {len(body)} bytes")
        if not (run_dir / "cobord.db").exists():
            failures.append("no cobord.db created in the working directory")
        if failures:
            print("wheel smoke test FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
            return 1
        print(f"wheel smoke test: {wheel.name} serves / and {len(assets)} assets from {run_dir}")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
