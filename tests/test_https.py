"""https without a proxy (`cobord serve --tls-cert/--tls-key`), its refusals, and the compose files
that put Caddy in front (no Docker engine here: their wiring is checked as data, and the Caddyfile
itself runs for real in tests/test_deploy.py and tests/browser/test_https_phone.py)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from server.cli import tls_files
from server.settings import ConfigError
from tests.conftest import ROOT
from tests.support import service_missing
from tests.yclient import YClient, add_note


def self_signed(folder: Path, name: str = "") -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        service_missing("openssl is not installed")
    cert, key = folder / f"cert{name}.pem", folder / f"key{name}.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_own_certificate_serves_https_and_says_so(make_server: Any, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = make_server(COBORD_TLS_CERT=str(cert), COBORD_TLS_KEY=str(key))
    tls = ssl.create_default_context(cafile=str(cert))
    base = f"https://localhost:{server.port}"
    async with httpx.AsyncClient(base_url=base, verify=tls) as http:
        config = (await http.get("/api/client-config")).json()
        assert config["scheme"] == "https"  # the panel's LAN links and QR codes say https
        board = (await http.post("/api/boards", json={"title": "En https"})).json()
    with pytest.raises(httpx.RemoteProtocolError):  # plain http on the same port gets nothing
        async with httpx.AsyncClient() as plain:
            await plain.get(f"http://127.0.0.1:{server.port}/healthz")
    url = f"wss://localhost:{server.port}/ws/{board['id']}?token={board['facilitator_token']}"
    writer, reader = [await YClient(url).connect(ssl=tls) for _ in range(2)]
    await writer.change(add_note("n1", "chiffré"))
    await reader.wait_until(lambda: "n1" in reader.notes())
    await writer.close()
    await reader.close()


def test_tls_files_are_refused_with_one_clear_reason(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    _, other_key = self_signed(tmp_path, "2")
    assert tls_files(None, None) is None
    assert tls_files(str(cert), str(key)) == (str(cert), str(key))
    cases = [
        ((str(cert), None), "--tls-cert and --tls-key go together"),
        ((None, str(key)), "--tls-cert and --tls-key go together"),
        ((str(tmp_path / "nope.pem"), str(key)), "cannot read the TLS certificate file"),
        ((str(cert), str(other_key)), "are not a PEM certificate and its private key"),
        ((str(key), str(cert)), "are not a PEM certificate and its private key"),
    ]
    for args, reason in cases:
        with pytest.raises(ConfigError, match=reason):
            tls_files(*args)


def test_the_command_exits_2_with_the_reason(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--tls-cert", str(cert)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "--tls-cert and --tls-key go together" in run.stderr
    assert "Traceback" not in run.stderr


def compose(*files: str) -> dict[str, Any]:
    """Compose's own merge for what these files use: maps merge key by key, lists are replaced."""

    def merge(base: Any, extra: Any) -> Any:
        if isinstance(base, dict) and isinstance(extra, dict):
            return {k: merge(base[k], v) if k in base else v for k, v in {**base, **extra}.items()}
        return extra

    out: dict[str, Any] = {}
    for name in files:
        out = merge(out, yaml.safe_load((ROOT / name).read_text()))
    return out


@pytest.mark.parametrize("files", [("compose.yaml",), ("compose.yaml", "compose.scale.yaml")])
def test_compose_puts_caddy_in_front_of_every_cobord(files: tuple[str, ...]) -> None:
    services = compose(*files)["services"]
    caddy = services["caddy"]
    cobords = sorted(name for name, s in services.items() if s.get("build") == ".")
    assert (ROOT / "Dockerfile").exists() and cobords
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    assert caddy["environment"]["COBORD_DOMAIN"] == "${COBORD_DOMAIN}"
    # Caddy sends to exactly the Cobord services, on the port the image listens on.
    upstreams = caddy["environment"]["COBORD_UPSTREAMS"].split()
    assert sorted(upstreams) == sorted(f"{name}:8000" for name in cobords)
    assert set(cobords) <= set(caddy["depends_on"])
    proxy_ip = caddy["networks"]["cobord"]["ipv4_address"]
    for name in cobords:
        env = services[name]["environment"]
        assert env["COBORD_TRUSTED_PROXIES"] == proxy_ip  # only Caddy's X-Forwarded-For
        assert env["COBORD_PUBLIC_URL"].startswith("https://${COBORD_DOMAIN")
    if len(cobords) > 1:  # several processes: one database, one Redis, one key for all
        shared = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")
        values = {tuple(services[n]["environment"][k] for k in shared) for n in cobords}
        assert len(values) == 1
        database, redis, _ = values.pop()
        assert database.startswith("postgresql://") and "@postgres:" in database
        assert redis.startswith("redis://redis:")
        for name in cobords:
            for needed in ("postgres", "redis"):
                assert services[name]["depends_on"][needed]["condition"] == "service_healthy"
                assert "healthcheck" in services[needed]
