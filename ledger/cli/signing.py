"""``ledger sign``: the RFC 9421 signature headers of one request to the service, ready for curl.

Prints a curl config (``header = "Name: value"`` lines), so the headers reach curl unsplit::

    ledger sign POST http://127.0.0.1:8000/api/v1/checks --client-id airline-1 --key-file airline-1.key \\
        --body-file check.json | curl -K - --data-binary @check.json http://127.0.0.1:8000/api/v1/checks

``--format json`` prints the headers as a JSON object instead. Each run makes a fresh nonce: sign again for
every request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

__all__ = ["sign"]


def _curl_quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sign(
    method: Annotated[str, typer.Argument(help="GET, POST, ...")],
    url: Annotated[str, typer.Argument(help="the full URL, query included, exactly as it will be sent")],
    client_id: Annotated[str, typer.Option(help="your client id (the signature's keyid)")],
    key_file: Annotated[Path, typer.Option(help="your Ed25519 private key: base64 of 32 bytes, or PEM")],
    body_file: Annotated[Path | None, typer.Option(help="the body to send, byte for byte")] = None,
    format: Annotated[str, typer.Option(help="curl (a curl config for -K -) or json")] = "curl",
) -> None:
    """Sign one request (RFC 9421, Ed25519) and print its headers."""
    from ledger.request_signing import private_key_from_text, sign_headers

    if format not in ("curl", "json"):
        raise typer.BadParameter("format must be curl or json", param_hint="--format")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise typer.BadParameter("give the full URL, e.g. http://127.0.0.1:8000/api/v1/health", param_hint="URL")
    try:
        key = private_key_from_text(key_file.read_bytes())
        body = body_file.read_bytes() if body_file is not None else b""
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = sign_headers(client_id, key.sign, method, target, body)
    if body:
        headers["Content-Type"] = "application/json"
    if format == "json":
        typer.echo(json.dumps(headers, indent=2))
        return
    for name, value in headers.items():
        typer.echo(f"header = {_curl_quoted(f'{name}: {value}')}")
