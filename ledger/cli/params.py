"""Parsing the commands' text arguments (ids, enum names, amounts, parties, subjects), and printing what a
write did. A malformed argument raises ``typer.BadParameter`` with a message naming what was wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ledger.cli.base import out


def hex32(value: str, what: str) -> bytes:
    text = value[2:] if value.startswith("0x") else value
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise typer.BadParameter(f"{what} must be 32 bytes of hex") from None
    if len(raw) != 32:
        raise typer.BadParameter(f"{what} must be 32 bytes of hex")
    return raw


def enum_member(enum_cls: Any, name: str) -> Any:
    """A record enum from its lower-case name, or a clear error listing the names."""
    key = name.strip().upper().replace("-", "_")
    if key not in enum_cls.__members__ or key == "NONE":
        known = ", ".join(m.lower() for m in enum_cls.__members__ if m != "NONE")
        raise typer.BadParameter(f"unknown {enum_cls.__name__} {name!r}; known: {known}")
    return enum_cls[key]


def money(text: str) -> int:
    """'13000' or '13000.50' yuan -> minor units."""
    try:
        whole, _, frac = text.partition(".")
        if len(frac) > 2:
            raise ValueError
        return int(whole) * 100 + int((frac + "00")[:2])
    except ValueError:
        raise typer.BadParameter(f"amount {text!r} is not a number with at most 2 decimals") from None


def party_from_text(text: str) -> Any:
    """ROLE:KIND:ID[:COUNTRY]:NAME, e.g. creditor:resident_id:110105199001011237:张三."""
    from ledger.privacy import Party, parse_subject

    parts = text.split(":")
    if len(parts) not in (4, 5):
        raise typer.BadParameter("a party is ROLE:KIND:ID:NAME or ROLE:passport:NUMBER:COUNTRY:NAME")
    role, kind, ident = parts[0], parts[1], parts[2]
    country = parts[3] if len(parts) == 5 else None
    return Party(role=role, subject=parse_subject(kind, ident, country), name=parts[-1])  # type: ignore[arg-type]


def subject_from_text(text: str) -> Any:
    """KIND:ID or passport:NUMBER:COUNTRY."""
    from ledger.privacy import parse_subject

    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise typer.BadParameter("a subject is KIND:ID (resident_id, credit_code) or passport:NUMBER:COUNTRY")
    return parse_subject(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def print_written(w: Any) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("record id", "0x" + w.record_id.hex())
    table.add_row("contract", f"{w.contract} {w.contract_address}")
    table.add_row("transaction", w.transaction_hash)
    table.add_row("block", f"{w.block_number} at {w.block_time}")
    table.add_row("gas", str(w.gas_used))
    out.print(table)


def save_certificate(cert: Any, path: Path | None) -> None:
    if path is not None:
        path.write_text(cert.to_json())
        out.print(f"certificate written to {path}")
