"""Run the benchmarks: ``python -m benchmarks.run [--quick] [--only NAME,...] [--out PATH]``.

Prints the figures as tables (rich) and writes them as JSON (default ``benchmarks/results/latest.json``).
``--update-doc docs/benchmarks.md`` rewrites the generated part of that document (between its
``<!-- results:begin -->`` and ``<!-- results:end -->`` markers) from this run; ``--render JSON`` does the
same from an earlier run's file without measuring anything. Exit status: 0 when every area ran (whatever
the figures: a missed goal is reported, never an error), 1 when an area raised.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.common import REPO, Context, fmt_number

#: area name -> module (run in this order)
AREAS: dict[str, str] = {
    "gas": "benchmarks.gas",
    "eas": "benchmarks.eas",
    "writes": "benchmarks.writes",
    "service": "benchmarks.service",
    "notary": "benchmarks.notary",
    "verify": "benchmarks.verification",
    "checks": "benchmarks.checks",
    "index": "benchmarks.indexing",
    "soak": "benchmarks.soak",
}
#: areas run by default (eas runs inside gas, side by side with our writes)
DEFAULT = ["gas", "writes", "service", "notary", "verify", "checks", "index"]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "latest.json"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI smoke test, under ~3 minutes)")
    parser.add_argument("--only", help=f"comma-separated areas: {', '.join(AREAS)}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON figures")
    parser.add_argument("--update-doc", type=Path, help="rewrite the generated section of this markdown file")
    parser.add_argument("--render", type=Path, help="render an earlier JSON file (no measuring)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (chains, stores, logs)")
    args = parser.parse_args(argv)
    console = Console(width=160) if not sys.stdout.isatty() else Console()

    if args.render is not None:
        summary = json.loads(args.render.read_text())
        print_tables(console, summary)
        if args.update_doc:
            update_doc(args.update_doc, summary)
        return 0

    chosen = DEFAULT if not args.only else [a.strip() for a in args.only.split(",") if a.strip()]
    unknown = [a for a in chosen if a not in AREAS]
    if unknown:
        parser.error(f"unknown area(s) {', '.join(unknown)}; known: {', '.join(AREAS)}")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    command = "python -m benchmarks.run " + " ".join(shlex.quote(a) for a in argv)
    modules = {area: importlib.import_module(AREAS[area]) for area in AREAS}  # all loaded before measuring
    ctx = Context(quick=args.quick, console=console, keep=args.keep, only=set(chosen) if args.only else None)
    console.rule(f"benchmarks ({'quick' if args.quick else 'full'}): {', '.join(chosen)}")
    started = time.perf_counter()
    try:
        for area in chosen:
            ctx.area = area
            t0 = time.perf_counter()
            console.rule(f"[bold]{area}")
            try:
                modules[area].run(ctx)
            except Exception as exc:  # one area's failure must not hide the others' figures
                ctx.error(area, exc)
            ctx.record("area wall time", time.perf_counter() - t0, "s", area=area)
    finally:
        ctx.close()
    summary = ctx.summary(command.strip(), time.perf_counter() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    print_tables(console, summary)
    console.print(f"figures written to {args.out}")
    if args.update_doc:
        update_doc(args.update_doc, summary)
        console.print(f"{args.update_doc} updated")
    if ctx.errors:
        console.print(f"[red]{len(ctx.errors)} area(s) failed: {', '.join(e['area'] for e in ctx.errors)}[/red]")
        return 1
    return 0


# -- rendering -----------------------------------------------------------------------------------


def _size(r: dict[str, Any]) -> str:
    return "" if r.get("size") is None else f"{r['size']:,}"


def _goal(r: dict[str, Any]) -> str:
    return (r.get("goal") or {}).get("label", "")


def _gas_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in summary["results"] if r["unit"] == "gas" and "intrinsic" in r.get("extra", {})]


def _other_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    gas = {id(r) for r in _gas_rows(summary)}
    return [r for r in summary["results"] if id(r) not in gas]


def print_tables(console: Console, summary: dict[str, Any]) -> None:
    meta = summary["meta"]
    m = meta["machine"]
    console.rule("results")
    console.print(f"{meta['date']}  {meta['preset']}  `{meta['command']}`  {meta['elapsed_seconds']} s")
    console.print(
        f"{m['nproc']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, Python {m['python']}, "
        f"ECDSA: {m['ecdsa_backend']}, load average {meta['load_average_start']} -> "
        f"{meta['load_average_end']}"
    )
    gas = _gas_rows(summary)
    if gas:
        t = Table(title="Gas per write (receipts on anvil, Prague rules)", show_lines=False)
        for col, just in (
            ("write", "left"),
            ("system", "left"),
            ("gas used", "right"),
            ("calldata B", "right"),
            ("21k+calldata", "right"),
            ("7623 floor", "right"),
            ("execution", "right"),
            ("per item", "right"),
            ("goal", "right"),
            ("status", "left"),
        ):
            t.add_column(col, justify=just)  # type: ignore[arg-type]
        for r in gas:
            e = r["extra"]
            t.add_row(
                r["name"],
                e.get("system", ""),
                fmt_number(r["value"]),
                f"{e['calldata_bytes']:,}",
                f"{e['intrinsic']:,}",
                f"{e['floor_7623']:,}",
                f"{_execution(r):,}",
                fmt_number(e.get("per_item")) if e.get("per_item") else "",
                _goal(r),
                _status(r),
            )
        console.print(t)
    t = Table(title="Figures", show_lines=False)
    for col, just in (
        ("area", "left"),
        ("figure", "left"),
        ("size", "right"),
        ("value", "right"),
        ("unit", "left"),
        ("goal", "right"),
        ("status", "left"),
        ("basis", "left"),
        ("note", "left"),
    ):
        t.add_column(col, justify=just, overflow="fold")  # type: ignore[arg-type]
    for r in _other_rows(summary):
        t.add_row(
            r["area"],
            r["name"],
            _size(r),
            fmt_number(r["value"], r["unit"]),
            r["unit"],
            _goal(r),
            _status(r),
            r["basis"],
            r.get("note", ""),
        )
    console.print(t)
    growth = growth_rows(summary)
    if growth:
        t = Table(title="Growth at 10x steps (per-item speed relative to the previous size; 1.00 = linear)")
        for col in ("area", "figure", "unit", "size: value", "ratio per step", "verdict"):
            t.add_column(col, overflow="fold")
        for g in growth:
            t.add_row(g["area"], g["name"], g["unit"], g["points"], g["ratios"], g["verdict"])
        console.print(t)
    for e in summary.get("errors", []):
        console.print(f"[red]{e['area']}: {e['error']}[/red]")


def _execution(r: dict[str, Any]) -> int:
    e = r["extra"]
    return int(e.get("execution", (r["value"] or 0) - e["intrinsic"]))


def growth_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Figures measured at several sizes: per-item speed at each 10x step, relative to the step before.

    For a rate (unit ``.../s``) the ratio is rate(size) / rate(previous size); for a duration (``s``) it is
    the same thing computed per item. 1.0 means the total grows linearly with the size; below 0.8 the
    figure stops growing linearly (each item costs more at the bigger size).
    """
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in summary["results"]:
        if r.get("size") and r["basis"] == "measured" and r["value"] and (r["unit"].endswith("/s") or r["unit"] == "s"):
            groups.setdefault((r["area"], r["name"], r["unit"]), []).append(r)
    out = []
    for (area, name, unit), rows in groups.items():
        rows = sorted(rows, key=lambda r: r["size"])
        if len(rows) < 2 or len({r["size"] for r in rows}) < 2:
            continue
        ratios = []
        for a, b in itertools.pairwise(rows):
            if unit == "s":
                ratios.append((a["value"] / a["size"]) / (b["value"] / b["size"]))
            else:
                ratios.append(b["value"] / a["value"])
        worst = min(ratios)
        verdict = (
            "linear"
            if worst >= 0.8
            else f"sublinear from {rows[ratios.index(worst)]['size']:,} to {rows[ratios.index(worst) + 1]['size']:,}"
        )
        if all(x > 1.25 for x in ratios):
            verdict = "per-item cost falls (fixed costs amortized)"
        out.append(
            {
                "area": area,
                "name": name,
                "unit": unit,
                "points": ", ".join(f"{r['size']:,}: {fmt_number(r['value'], unit)}" for r in rows),
                "ratios": ", ".join(f"{x:.2f}" for x in ratios),
                "verdict": verdict,
            }
        )
    return out


def _status(r: dict[str, Any]) -> str:
    return {"met": "met", "missed": "MISSED"}.get(r.get("status", ""), "")


def render_markdown(summary: dict[str, Any]) -> str:
    meta = summary["meta"]
    m = meta["machine"]
    lines = [
        f"Generated by `{meta['command']}` on {meta['date']} ({meta['preset']} preset, {meta['elapsed_seconds']:,} s).",
        "",
        "| machine | |",
        "|---|---|",
        f"| CPUs (nproc) | {m['nproc']} |",
        f"| CPU model | {m['cpu_model']} |",
        f"| RAM | {m['ram_gib']} GiB |",
        f"| OS, Python | {m['os']}, Python {m['python']} |",
        f"| load average (1, 5, 15 min) at start / end | {meta['load_average_start']} / {meta['load_average_end']} |",
        f"| secp256k1 in eth-keys | {m['ecdsa_backend']} |",
        f"| keccak in ledger.merkle | {m['keccak_backend']} |",
        f"| node, compilers | {m['anvil']}; solc-js {m['solc_js_ledger']} (ledger), {m['solc_js_eas']} (EAS "
        f"{m['eas_contracts']} with OpenZeppelin {m['openzeppelin_for_eas']}) |",
        f"| commit | {m['git_commit']}{' (with uncommitted changes)' if m['git_dirty'] else ''} |",
        "",
    ]
    gas = _gas_rows(summary)
    if gas:
        lines += [
            "### Gas per write",
            "",
            "| write | system | gas used | calldata bytes | 21,000 + calldata (EIP-2028) | EIP-7623 floor "
            "| execution | per item | goal | status |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for r in gas:
            e = r["extra"]
            lines.append(
                f"| {r['name']} | {e.get('system', '')} | {fmt_number(r['value'])} | {e['calldata_bytes']:,} | "
                f"{e['intrinsic']:,} | {e['floor_7623']:,} | {_execution(r):,} | "
                f"{fmt_number(e.get('per_item')) if e.get('per_item') else ''} | {_goal(r)} | {_status(r)} |"
            )
        lines.append("")
    lines += [
        "### Figures",
        "",
        "| area | figure | size | value | unit | goal | status | basis | note |",
        "|---|---|---:|---:|---|---|---|---|---|",
    ]
    for r in _other_rows(summary):
        note = (r.get("note") or "").replace("|", "\\|")
        lines.append(
            f"| {r['area']} | {r['name']} | {_size(r)} | {fmt_number(r['value'], r['unit'])} | {r['unit']} | "
            f"{_goal(r)} | {_status(r)} | {r['basis']} | {note} |"
        )
    growth = growth_rows(summary)
    if growth:
        lines += [
            "",
            "### Growth at 10x steps",
            "",
            "Per-item speed at each size relative to the size before it (1.00 = the total grows linearly).",
            "",
            "| area | figure | unit | size: value | ratio per step | verdict |",
            "|---|---|---|---|---|---|",
        ]
        for g in growth:
            lines.append(
                f"| {g['area']} | {g['name']} | {g['unit']} | {g['points']} | {g['ratios']} | {g['verdict']} |"
            )
    if summary.get("errors"):
        lines += ["", "Errors: " + "; ".join(f"{e['area']}: {e['error']}" for e in summary["errors"])]
    return "\n".join(lines) + "\n"


def update_doc(path: Path, summary: dict[str, Any]) -> None:
    text = path.read_text() if path.is_file() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{render_markdown(summary)}{END}{tail}")


if __name__ == "__main__":
    sys.exit(main())
