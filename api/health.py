"""Health, as orchestrators expect it: liveness and readiness apart.

- ``GET /api/v1/health/live``: the process answers (200, no I/O). Restart the process only if this fails.
- ``GET /api/v1/health/ready`` (also ``GET /health``): the service can do its work. It asks the node, now,
  for its chain id, genesis block and head, and compares them with the deployment the service was
  started on; it reports how many blocks the index lags behind the head, the outbox backlog (writes
  accepted but not yet confirmed or failed) and the age of the oldest of them. 200 when ready, 503 with
  the same body and a ``problems`` list when not: node unreachable, another chain id, another genesis
  block (a reset or a different network), or an index more than ``max_index_lag_blocks`` behind.
- ``GET /api/v1/health``: kept as it was (liveness, with the chain id and indexed block), cheap enough to
  poll in load tests.

The node is asked by a bare JSON-RPC POST with a short timeout (``health_timeout_seconds``), not through
the service's web3 provider, which caches the chain id and retries for much longer.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.routes import API

__all__ = ["NodeFacts", "install", "install_for_checks", "node_facts", "readiness"]


class NodeFacts(BaseModel):
    reachable: bool
    chain_id: int | None = None
    genesis_hash: str | None = None
    head_block: int | None = None
    error: str | None = None


def _rpc(url: str, method: str, params: list[Any], timeout: float) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read(1 << 20))
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error'].get('message', 'error')}")
    return answer["result"]


def node_facts(chain: Any, timeout: float) -> NodeFacts:
    """Chain id, genesis hash and head block as the node reports them now (an in-memory chain: itself)."""
    try:
        if chain.url is None:
            w3 = chain.w3
            genesis = "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
            return NodeFacts(
                reachable=True, chain_id=chain.chain_id, genesis_hash=genesis, head_block=w3.eth.block_number
            )
        chain_id = int(_rpc(chain.url, "eth_chainId", [], timeout), 16)
        block0 = _rpc(chain.url, "eth_getBlockByNumber", ["0x0", False], timeout)
        head = int(_rpc(chain.url, "eth_blockNumber", [], timeout), 16)
        return NodeFacts(
            reachable=True,
            chain_id=chain_id,
            genesis_hash=str(block0["hash"]).lower() if block0 else None,
            head_block=head,
        )
    except Exception as exc:  # unreachable, timed out, or not a node: not ready, and why
        return NodeFacts(reachable=False, error=type(exc).__name__)


def readiness(services: Any) -> tuple[bool, dict[str, Any]]:
    """(ready, the figures) of the main service."""
    settings = services.settings
    deployment = services.deployment
    node = node_facts(services.chain, settings.health_timeout_seconds)
    problems: list[str] = []
    if not node.reachable:
        problems.append(f"the node does not answer ({node.error})")
    else:
        if node.chain_id != deployment.chain_id:
            problems.append(f"the node serves chain id {node.chain_id}, the deployment is on {deployment.chain_id}")
        if (node.genesis_hash or "").lower() != deployment.genesis_hash.lower():
            problems.append("the node's genesis block is not the deployment's (a reset node or another network)")
    indexed = services.indexed_block
    lag = None if node.head_block is None else max(0, node.head_block - indexed)
    if indexed < 0:
        problems.append("the index has not synced yet")
    elif lag is not None and lag > settings.max_index_lag_blocks:
        problems.append(f"the index is {lag} blocks behind the node (more than {settings.max_index_lag_blocks})")
    backlog, oldest = services.outbox.backlog()
    process = getattr(services, "worker_process", None)
    if process is not None and not process.running:
        problems.append("the outbox worker process is not running (it is started again within a second)")
    figures = {
        "status": "ready" if not problems else "not_ready",
        "problems": problems,
        "node": node.model_dump(exclude_none=True),
        "deployment": {"chain_id": deployment.chain_id, "genesis_hash": deployment.genesis_hash},
        "indexed_block": indexed,
        "index_lag_blocks": lag,
        "outbox": {
            "backlog": backlog,
            "oldest_pending_age_seconds": None if oldest is None else round(max(0.0, time.time() - oldest), 3),
            "worker": "thread" if process is None else ("process" if process.running else "process down"),
        },
    }
    return not problems, figures


class LiveOut(BaseModel):
    status: str


def _live_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get(f"{API}/health/live", response_model=LiveOut, summary="Liveness: the process answers")
    async def live() -> LiveOut:
        return LiveOut(status="alive")

    return router


def install(app: FastAPI) -> None:
    """Liveness and readiness of the main service on ``app`` (whose ``state.services`` is a Services)."""
    app.include_router(_live_router())

    async def ready() -> JSONResponse:
        ok, figures = await run_in_threadpool(readiness, app.state.services)
        return JSONResponse(figures, status_code=200 if ok else 503)

    responses: dict[int | str, dict[str, Any]] = {503: {"description": "Not ready; `problems` says why"}}
    app.add_api_route(
        f"{API}/health/ready",
        ready,
        methods=["GET"],
        tags=["health"],
        responses=responses,
        summary="Readiness: node, genesis, chain id, index lag, outbox backlog",
    )
    app.add_api_route("/health", ready, methods=["GET"], include_in_schema=False)


def install_for_checks(app: FastAPI) -> None:
    """Liveness and readiness of a check process: ready once the index it reads exists and has synced."""
    app.include_router(_live_router())

    async def ready() -> JSONResponse:
        indexed = app.state.services.indexed_block
        ok = indexed >= 0
        body = {
            "status": "ready" if ok else "not_ready",
            "role": "checks",
            "indexed_block": indexed,
            "problems": [] if ok else ["the index has not synced yet"],
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    app.add_api_route(f"{API}/health/ready", ready, methods=["GET"], tags=["health"], summary="Readiness")
    app.add_api_route("/health", ready, methods=["GET"], include_in_schema=False)
