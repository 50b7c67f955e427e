"""Throwaway TLS material for test servers: a CA and a server certificate for 127.0.0.1/localhost (openssl CLI)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .process import find_binary


@dataclass(frozen=True)
class TLSFiles:
    """PEM files: the CA that signs ``cert`` (server certificate) and its private ``key``."""

    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path) -> TLSFiles:
    """Create a CA and a server certificate (SAN 127.0.0.1, localhost) in ``directory``; needs ``openssl``."""
    openssl = find_binary("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl not found")
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=directory)

    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]  # EC: fast to generate
    run(
        "req",
        "-x509",
        *new_key,
        "-days",
        "1",
        "-subj",
        "/CN=sessionkv-test-ca",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
    )
    run("req", *new_key, "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(csr))
    signing = ["-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "1", "-extfile", str(ext)]
    run("x509", "-req", "-in", str(csr), *signing, "-out", str(cert))
    return TLSFiles(ca, cert, key)
