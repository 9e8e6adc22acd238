"""Authority at the edge: refuse at once (403, with the reason) a write the chain would refuse for authority.

Contract: each function answers from the service's own view of the registry (the index) and raises
:class:`~api.errors.Forbidden` naming the rule broken; a record the index does not know yet is let through,
and the contract, which stays the authority, decides. The rules are the contracts':

- a judgment's status, a case's actions and a listing's extension or removal are changed by the record's
  court or a court above it on the appellate chain (``CourtAuthorized._requireAuthority``);
- a listing is made under a case by the case's court or a court above it;
- a case is opened on a judgment by the judgment's court, a court above it, or a court the judgment's court
  has entrusted with its enforcement (``EnforcementRegistry.mayEnforce``; delegations are read from chain);
- a judgment's enforcement is entrusted (委托执行) or withdrawn by the judgment's court or a court above it,
  to an admitted court other than the judgment's (``EnforcementRegistry.delegateEnforcement``).
"""

from __future__ import annotations

from typing import Any

from api.errors import Conflict, Forbidden

__all__ = ["require_authority", "require_delegating_court", "require_enforcing_court"]


def require_authority(index: Any, acting: int, owner: int | None, what: str) -> None:
    """``acting`` may change ``what`` (a record of court ``owner``), or Forbidden."""
    if owner is None or index.has_authority(acting, owner):
        return
    raise Forbidden(f"court {acting} has no authority over {what} of court {owner}: only that court or a "
                    "court above it on the appellate chain may change it, and the chain would refuse")


def require_enforcing_court(index: Any, ledger: Any, acting: int, judgment_id: bytes) -> None:
    """``acting`` may open a case on the judgment, or Forbidden."""
    view = index.judgment(judgment_id)
    if view is None or index.has_authority(acting, view.court) or ledger.may_enforce(judgment_id, acting):
        return
    raise Forbidden(f"court {acting} may not enforce judgment 0x{judgment_id.hex()} of court {view.court}: only "
                    "that court, a court above it, or a court it entrusts with enforcement (委托执行) may")


def require_delegating_court(index: Any, ledger: Any, acting: int, judgment_id: bytes, delegate: int) -> None:
    """``acting`` may entrust the judgment's enforcement to ``delegate``, or Forbidden (authority) / Conflict
    (a delegate the chain refuses: the judgment's own court, or a court never admitted)."""
    view = index.judgment(judgment_id)
    if view is not None and not index.has_authority(acting, view.court):
        raise Forbidden(f"court {acting} has no authority over judgment 0x{judgment_id.hex()} of court "
                        f"{view.court}: only that court or a court above it may entrust its enforcement")
    if view is not None and delegate == view.court:
        raise Conflict(f"court {delegate} is the judgment's own court; it enforces without being entrusted")
    if int(ledger.court(delegate)["status"]) == 0:
        raise Conflict(f"court {delegate} was never admitted; enforcement can only be entrusted to a court")
