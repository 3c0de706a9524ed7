"""gRPC channels to the control plane: an address (`host:port`,
`http://host:port`, or `https://host:port` for TLS), PEM files for TLS and
mTLS, and the API key as `authorization` metadata."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

KEEPALIVE_OPTIONS = [("grpc.keepalive_time_ms", 15_000), ("grpc.keepalive_permit_without_calls", 1)]


@dataclass(frozen=True)
class Target:
    """Where to connect and how: `host:port`, TLS credentials or None, and call metadata."""

    host: str
    credentials: Any
    metadata: tuple[tuple[str, str], ...]

    def channel(self) -> grpc.Channel:
        if self.credentials is None:
            return grpc.insecure_channel(self.host, options=KEEPALIVE_OPTIONS)
        return grpc.secure_channel(self.host, self.credentials, options=KEEPALIVE_OPTIONS)


def target(
    address: str,
    *,
    api_key: str | None = None,
    ca_file: str | None = None,
    cert_file: str | None = None,
    key_file: str | None = None,
) -> Target:
    """`https://` or any TLS file means TLS; a bare `host:port` or `http://` is cleartext."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError("address: host:port, http://host:port or https://host:port")
    if bool(cert_file) != bool(key_file):
        raise ValueError("cert_file and key_file: a client certificate needs both")
    tls = address.startswith("https://") or bool(ca_file or cert_file)
    host = address.removeprefix("http://").removeprefix("https://").rstrip("/")
    credentials = (
        grpc.ssl_channel_credentials(
            root_certificates=_read("ca_file", ca_file),
            private_key=_read("key_file", key_file),
            certificate_chain=_read("cert_file", cert_file),
        )
        if tls
        else None
    )
    metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
    return Target(host, credentials, metadata)


def _read(option: str, path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise ValueError(f"{option}: cannot read {path} ({err.strerror})") from err
