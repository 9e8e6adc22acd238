"""``GET /verify/recorded/{block_number}``: when a block was made, for the page's look-up verdict and the
printable verification sheet, which show each record's recording time (the look-up answers its block).

Public and rate-limited like the other verification endpoints; it reads the block header from the
service's node (``eth_getBlockByNumber``, served by every node) and says nothing a block explorer does not.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from pydantic import BaseModel

from api.deps import ServicesDep
from api.errors import NotFound
from api.routes import API, PUBLIC_ERRORS, Hex32
from api.routes.verification import Limited

router = APIRouter(prefix=f"{API}/verify", tags=["verification"], responses=PUBLIC_ERRORS)


class RecordedAtOut(BaseModel):
    block_number: int
    block_hash: Hex32
    block_time: int


@router.get("/recorded/{block_number}", response_model=RecordedAtOut, summary="When a block was made")
def recorded_at(block_number: Annotated[int, PathParam(ge=0, lt=2**63)], _: Limited,
                services: ServicesDep) -> RecordedAtOut:
    w3 = services.ledger.w3
    if block_number > w3.eth.block_number:
        raise NotFound(f"block {block_number} is not made yet")
    block = w3.eth.get_block(block_number)
    return RecordedAtOut(block_number=block_number, block_hash="0x" + bytes(block["hash"]).hex(),
                         block_time=int(block["timestamp"]))
