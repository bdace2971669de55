"""Debian's `caddy` running the sample deploy/Caddyfile in front of `cobord serve` processes, with
its own local certificate authority (`tls internal`) instead of Let's Encrypt: the same site block
a deployer runs, only the global options differ (no admin API, free ports, certificates in a
temporary folder, nothing installed into the system's trust store).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT, ServerProcess, free_port
from tests.support import service_missing

CADDY = shutil.which("caddy") or ("/usr/bin/caddy" if Path("/usr/bin/caddy").exists() else None)
SITE = ROOT / "deploy" / "Caddyfile"


@dataclass
class Caddy:
    process: subprocess.Popen[bytes]
    port: int
    data: Path

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def root_cert(self) -> Path:
        return self.data / "pki" / "authorities" / "local" / "root.crt"

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts this Caddy's own authority, and only it: real certificate checks."""
        return ssl.create_default_context(cafile=str(self.root_cert))

    def spki_hashes(self) -> str:
        """base64 SHA-256 of the authority's public keys, for Chromium's
        --ignore-certificate-errors-spki-list (trust these keys, as a phone trusts a real CA)."""
        folder = self.data / "pki" / "authorities" / "local"
        hashes = []
        for name in ("root.crt", "intermediate.crt"):
            der = ssl.PEM_cert_to_DER_cert((folder / name).read_text())
            hashes.append(base64.b64encode(hashlib.sha256(_spki(der)).digest()).decode())
        return ",".join(hashes)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_caddy(tmp: Path, upstreams: Sequence[ServerProcess], port: int = 0) -> Caddy:
    """Caddy on https://localhost:`port` (a free one by default) in front of `upstreams`."""
    if CADDY is None:
        service_missing("caddy is not installed (apt-get install caddy)")
    port = port or free_port()
    data = tmp / "caddy-data"
    config = tmp / "Caddyfile"
    config.write_text(
        "{\n\tadmin off\n"
        f"\thttp_port {free_port()}\n\thttps_port {port}\n"
        "\tlocal_certs\n\tskip_install_trust\n\tauto_https disable_redirects\n"
        f"\tstorage file_system {data}\n}}\n"
        f"import {SITE}\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        "XDG_CONFIG_HOME": str(tmp / "caddy-config"),
        "COBORD_DOMAIN": f"localhost:{port}",
        "COBORD_UPSTREAMS": " ".join(f"127.0.0.1:{u.port}" for u in upstreams),
    }
    check = subprocess.run(
        [CADDY, "validate", "--config", str(config), "--adapter", "caddyfile"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr[-2000:]
    with (tmp / "caddy.log").open("wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [CADDY, "run", "--config", str(config), "--adapter", "caddyfile"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    caddy = Caddy(process, port, data)
    deadline = time.monotonic() + 30
    while True:  # Caddy says nothing we can wait on: poll until it serves /healthz over https
        try:
            if caddy.root_cert.exists():
                request = f"{caddy.origin}/healthz"
                with urllib.request.urlopen(request, context=caddy.ssl_context(), timeout=2) as r:
                    if r.status == 200:
                        return caddy
        except (OSError, urllib.error.URLError, ssl.SSLError):
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            caddy.stop()
            raise AssertionError((tmp / "caddy.log").read_text()[-3000:])
        time.sleep(0.1)


def _spki(der: bytes) -> bytes:
    """The SubjectPublicKeyInfo of a DER certificate (the 7th field of TBSCertificate, or the 6th
    without the optional [0] version), read with a minimal DER walker: no extra dependency."""

    def item(at: int) -> tuple[int, int, int]:  # (start, content start, end)
        length = der[at + 1]
        head = 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(der[at + 2 : at + 2 + count], "big")
            head += count
        return at, at + head, at + head + length

    _, cert_body, _ = item(0)
    _, tbs_body, tbs_end = item(cert_body)
    fields = []
    at = tbs_body
    while at < tbs_end:
        start, _, end = item(at)
        fields.append((start, end))
        at = end
    versioned = der[fields[0][0]] == 0xA0
    start, end = fields[6 if versioned else 5]
    return der[start:end]
