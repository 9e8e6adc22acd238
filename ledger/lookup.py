"""A foreign court's look-up: "is this judgment or enforcement case (case number + document) on the ledger,
and whose is it?"

Contract: :func:`lookup_judgment` finds, through logs in bounded block ranges, every judgment whose
case-number digest is the one K_case gives the case number; the service finds the same records (and
those carrying the same document under another case number) in its index. Both hand the candidates to
:func:`decide`, the one rule, which answers one :class:`Verdict`:

``verified``        one court recorded this case number (and this document), one of its records carries
                    both, and that court is the court the caller expects (if named) and the court the case
                    number names (where the court registry records the court's case-number code)
``conflict``        more than one court recorded this case number or this document: every record is
                    listed with its court, jurisdiction and status, and none is verified
``court_mismatch``  one court recorded it, but not the court the caller expects or the one the number names
``does_not_match``  the case number is recorded, never with this document
``not_on_chain``    neither is recorded

The court-code rule (:func:`case_number_names_court`): where the registry records a court's code, the case
number, without a leading "(year)", must start with that code, not followed by a digit ("京01" does not
name "京0108"'s cases). Jurisdictions whose case numbers do not name the court record no code, and the
check is then "not applicable" (``case_code_matches`` None). Only a court or the service holding K_case
can ask: the chain carries no unkeyed digest of a case number.

Enforcement cases (:func:`case_candidates`): the case number is the enforcement case's (执字号) and the
document is the judgment it enforces, which the asker must hold, as for a judgment. The same rule decides,
over the cases carrying that case number (and any judgment recorded under it: a record claiming the number
is a claimant, whatever its kind); a case "carries the document" when the judgment it enforces does. The
enforcing court may differ from the judgment's (an intermediate court's judgment enforced by a basic
court, or enforcement entrusted, 委托执行): only claimants of the same case number compete. A verified
case shows its state and the listings it led to with their state and dates only: never the subject, the
ground, the restrictions or any amount. A listing alone has no public identifier (its subject's ID number is
personal, and its blind index needs the key): it is reached through its case, or by a partner's
authenticated check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from eth_utils import keccak, to_checksum_address
from web3 import Web3

from ledger.build import load_artifact
from ledger.records import CaseNumberKey, JudgmentStatus, normalise_case_number, open_case_number

__all__ = [
    "Candidate",
    "CourtFacts",
    "ListingShown",
    "Recorded",
    "Verdict",
    "candidates_of",
    "case_candidates",
    "case_number_names_court",
    "decide",
    "lookup_judgment",
    "registry_facts",
]

VerdictName = Literal["verified", "conflict", "court_mismatch", "does_not_match", "not_on_chain"]
Kind = Literal["judgment", "enforcement_case"]
_YEAR = re.compile(r"^\(\d{4}\)")


@dataclass(frozen=True)
class CourtFacts:
    """What the court registry says about a court: its jurisdiction and the code its case numbers carry."""

    jurisdiction: str | None
    case_code: str | None


@dataclass(frozen=True)
class ListingShown:
    """A listing a verified case led to, as an outsider may see it: its state and dates, nothing personal."""

    listing_id: str
    court: int
    state: Literal["active", "removed", "expired"]
    listed_at: int
    until: int
    removed_at: int | None


@dataclass(frozen=True)
class Candidate:
    """One recorded judgment or case that carries the case number or the document asked about.

    ``document_digest``: a judgment's document; for a case, the document of the judgment it enforces
    (empty when that judgment is not known). ``status``: a judgment's status or a case's state, lowercase.
    """

    record_id: bytes
    court: int
    case_number_digest: bytes
    document_digest: bytes
    status: str
    superseded_by: bytes | None
    block_number: int
    transaction_hash: bytes
    kind: Kind = "judgment"
    judgment_id: bytes | None = None  # a case's: the judgment it enforces
    listings: tuple[ListingShown, ...] = ()


@dataclass(frozen=True)
class Recorded:
    """A candidate as the answer shows it. ``judgment_id``: the judgment itself, or the one a case enforces."""

    judgment_id: str | None
    court: int
    jurisdiction: str | None
    status: str
    superseded_by: str | None
    block_number: int
    transaction_hash: str
    case_number_matches: bool
    document_matches: bool
    case_code_matches: bool | None
    kind: Kind = "judgment"
    record_id: str = ""


@dataclass(frozen=True)
class Verdict:
    """One answer to 'is this record on the ledger?'. ``records`` lists every claimant of a conflict;
    ``listings`` the listings a verified case led to."""

    verdict: VerdictName
    judgment_id: str | None = None
    court: int | None = None
    jurisdiction: str | None = None
    status: str | None = None
    superseded_by: str | None = None
    block_number: int | None = None
    transaction_hash: str | None = None
    case_code_matches: bool | None = None
    reason: str | None = None
    records: tuple[Recorded, ...] = field(default=())
    kind: Kind | None = None
    record_id: str | None = None
    listings: tuple[ListingShown, ...] | None = None


def case_number_names_court(case_number: str, code: str | None) -> bool | None:
    """Whether the (normalised) case number carries ``code``; None when the court has no code recorded."""
    if not code:
        return None
    rest = _YEAR.sub("", case_number, count=1)
    return rest.startswith(code) and not rest[len(code):len(code) + 1].isdigit()


def decide(case_number: str, case_digest: bytes, document_digest: bytes, candidates: Iterable[Candidate],
           facts: Callable[[int], CourtFacts], expected_court: int | None = None) -> Verdict:
    """The one rule of the look-up (see the module docstring)."""
    text = normalise_case_number(case_number)
    found = sorted({c.record_id: c for c in candidates}.values(), key=lambda c: c.block_number)
    if not found:
        return Verdict("not_on_chain")
    shown = [_recorded(c, text, case_digest, document_digest, facts(c.court)) for c in found]
    courts = {c.court for c in found}
    if len(courts) > 1:
        return Verdict("conflict", records=tuple(shown),
                       reason=f"{len(courts)} courts recorded this case number or document: "
                              + ", ".join(str(c) for c in sorted(courts)))
    both = [r for r in shown if r.case_number_matches and r.document_matches]
    if not both:
        return Verdict("does_not_match" if any(r.case_number_matches for r in shown) else "not_on_chain")
    hit = both[-1]
    listed = next(c.listings for c in found if "0x" + c.record_id.hex() == hit.record_id)
    verdict = Verdict("verified", hit.judgment_id, hit.court, hit.jurisdiction, hit.status, hit.superseded_by,
                      hit.block_number, hit.transaction_hash, hit.case_code_matches, kind=hit.kind,
                      record_id=hit.record_id, listings=listed if hit.kind == "enforcement_case" else None)
    if expected_court is not None and expected_court != hit.court:
        return replace(verdict, verdict="court_mismatch", listings=None,
                       reason=f"recorded by court {hit.court}, not by the expected court {expected_court}")
    if hit.case_code_matches is False:
        return replace(verdict, verdict="court_mismatch", listings=None,
                       reason=f"the case number does not carry court {hit.court}'s registered code")
    return verdict


def _recorded(c: Candidate, text: str, case_digest: bytes, document_digest: bytes, facts: CourtFacts) -> Recorded:
    judgment = c.record_id if c.kind == "judgment" else c.judgment_id
    return Recorded("0x" + judgment.hex() if judgment else None, c.court, facts.jurisdiction, c.status,
                    "0x" + c.superseded_by.hex() if c.superseded_by else None, c.block_number,
                    "0x" + c.transaction_hash.hex(), c.case_number_digest == case_digest,
                    c.document_digest == document_digest, case_number_names_court(text, facts.case_code),
                    c.kind, "0x" + c.record_id.hex())


def registry_facts(w3: Web3, court_registry: str) -> Callable[[int], CourtFacts]:
    """CourtFacts read from the court registry at ``court_registry`` (remembered per court)."""
    registry = w3.eth.contract(address=to_checksum_address(court_registry), abi=load_artifact("CourtRegistry").abi)
    seen: dict[int, CourtFacts] = {}

    def facts(court: int) -> CourtFacts:
        if court not in seen:
            info = registry.functions.courtInfo(court).call()
            jurisdiction = bytes(info[2]).rstrip(b"\x00").decode("ascii", errors="replace") or None
            code = bytes(registry.functions.caseNumberCode(court).call()).rstrip(b"\x00")
            seen[court] = CourtFacts(jurisdiction, code.decode("utf-8", errors="replace") or None)
        return seen[court]

    return facts


def lookup_judgment(w3: Web3, judgment_registry: str, *, key: CaseNumberKey, case_number: str,
                    document_digest: bytes, from_block: int, expected_court: int | None = None,
                    chunk: int = 5_000) -> Verdict:
    """Every judgment recorded under this case number, via logs in bounded ranges, judged by :func:`decide`."""
    contract = w3.eth.contract(address=to_checksum_address(judgment_registry),
                               abi=load_artifact("JudgmentRegistry").abi)
    digest = open_case_number(key, case_number).digest
    topic0 = "0x" + keccak(text="JudgmentRecorded(bytes32,uint32,bytes32,bytes32,bytes32,uint128,bytes3,uint40,"
                                "uint40)").hex()
    candidates: list[Candidate] = []
    head = w3.eth.block_number
    for start in range(from_block, head + 1, chunk):
        logs = w3.eth.get_logs({"address": contract.address, "fromBlock": start,
                                "toBlock": min(head, start + chunk - 1),
                                "topics": [topic0, None, None, "0x" + digest.hex()]})
        candidates += [_candidate(contract, log) for log in logs]
    facts = registry_facts(w3, contract.functions.courtRegistry().call())
    return decide(case_number, digest, document_digest, candidates, facts, expected_court)


def _candidate(contract: Any, log: Any) -> Candidate:
    args = contract.events.JudgmentRecorded().process_log(log)["args"]
    jid = bytes(args["id"])
    _, status, _, _, _ = contract.functions.judgmentRecord(jid).call()
    st = JudgmentStatus(status)
    successor = bytes(contract.functions.supersededBy(jid).call()) if st == JudgmentStatus.SUPERSEDED else None
    return Candidate(jid, int(args["court"]), bytes(args["caseNumberDigest"]), bytes(args["documentDigest"]),
                     st.name.lower(), successor, int(log["blockNumber"]), bytes(log["transactionHash"]))


def candidates_of(views: Sequence[Any]) -> list[Candidate]:
    """Candidates from index views (anything with the JudgmentView fields)."""
    return [Candidate(v.id, v.court, v.case_number_digest, v.document_digest, v.status.name.lower(),
                      v.superseded_by, v.block_number, v.transaction_hash) for v in views]


def case_candidates(views: Sequence[Any], judgment_document: Callable[[bytes], bytes | None],
                    now: int) -> list[Candidate]:
    """Candidates from index case views (the CaseView fields); ``judgment_document`` gives the document
    digest of the judgment a case enforces; listings are shown with their state at ``now``."""
    return [Candidate(v.id, v.court, v.case_number_digest, judgment_document(v.judgment_id) or b"",
                      v.state.name.lower(), None, v.block_number, v.transaction_hash, "enforcement_case",
                      v.judgment_id, tuple(_listing_shown(lv, now) for lv in v.listings)) for v in views]


def _listing_shown(v: Any, now: int) -> ListingShown:
    state: Literal["active", "removed", "expired"] = (
        "removed" if v.removed_at is not None and v.removed_at <= now else "expired" if v.until <= now else "active")
    return ListingShown("0x" + v.id.hex(), v.court, state, v.listed_at, v.until, v.removed_at)
