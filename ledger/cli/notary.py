"""``ledger notarize``: anchor files' digests under one Merkle root and write a certificate per file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from ledger.cli.base import DEFAULT_DIR, ChainSpec, DataDir, app, err, out
from ledger.cli.context import open_context


@app.command()
def notarize(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)],
    court: Annotated[int, typer.Option()],
    receipts: Annotated[Path, typer.Option(help="Directory for one certificate per file.")] = Path("receipts"),
    data_dir: DataDir = DEFAULT_DIR,
    chain: ChainSpec = "local",
) -> None:
    """Anchor the SHA-256 digests of files under one Merkle root; write a certificate per file."""
    import hashlib
    import os

    from ledger.certificates import notary_certificate
    from ledger.merkle import MerkleTree
    from ledger.records import Anchor

    ctx = open_context(data_dir, chain)
    digests: dict[Path, bytes] = {}
    with Progress(console=err) as progress:
        task = progress.add_task("hashing", total=len(files))
        for f in files:
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            digests[f] = h.digest()
            progress.advance(task)
    nonces = {d: os.urandom(32) for d in digests.values()}  # one fresh nonce per leaf (ledger.merkle)
    tree = MerkleTree.build_notary(list(nonces.items()))
    w = ctx.ledger.submit(ctx.signer(court), Anchor(court=court, root=tree.root, size=len(nonces)))
    receipts.mkdir(parents=True, exist_ok=True)
    for f, d in digests.items():
        cert = notary_certificate(w, ctx.chain.chain_id, digest=d, nonce=nonces[d], proof=tree.proof(d))
        (receipts / f"{f.name}.certificate.json").write_text(cert.to_json())
    out.print(f"anchored {len(nonces)} digests under root 0x{tree.root.hex()} in block {w.block_number}; "
              f"certificates in {receipts}/")
