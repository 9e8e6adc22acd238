"""record -> certificate (format 2) -> verify, online and offline, for every kind; each forgery fails at its step.

The forgery tests read as an attacker's moves (issue 10): each builds the forged certificate from a real
one on a live chain, and asserts that the verifier refuses it at the named step, so no forged claim is
ever reported as authentic.
"""

from __future__ import annotations

import json
import time
from datetime import date

import pytest

from ledger.certificates import (
    case_certificate,
    case_history_hash,
    defaulter_certificate,
    judgment_certificate,
    notary_certificate,
    parse_certificate,
)
from ledger.dossiers import certify_dossier, file_dossier
from ledger.errors import VerificationError
from ledger.merkle import notary_leaf
from ledger.records import (
    Action,
    ActionKind,
    Anchor,
    CaseState,
    Filing,
    Ground,
    JudgmentStatus,
    JudgmentStatusChange,
    Listing,
    Removal,
    RemovalReason,
    Restriction,
    case_number_digest,
    opened_case_number_digest,
    sha256_digest,
)
from ledger.verify import NetworkDescriptor, TrustAnchors, verify_certificate
from tests.conftest import CASE_KEY, admit_new_court, make_judgment
from tests.mutations import high_s_twin, v_zero_or_one
from tests.notary_tree import leaf_tree

DOCUMENT = b"%PDF-1.7 judgment of the Dongcheng court, signed\n" * 20


@pytest.fixture(scope="session")
def trust(deployment, governor) -> TrustAnchors:
    descriptor = NetworkDescriptor.from_deployment(deployment, "test-network").signed(governor)
    return TrustAnchors.from_descriptors([descriptor], [governor.address])


@pytest.fixture
def court(new_court):
    return new_court()


def _head(ledger) -> tuple[int, str]:
    block = ledger.w3.eth.get_block("latest")
    return int(block["number"]), "0x" + bytes(block["hash"]).hex()


def _judgment_cert(ledger, court, n=0, case_number=None):
    j = make_judgment(court.id, n, document_digest=sha256_digest(DOCUMENT))
    if case_number is not None:
        j = j.model_copy(update={"case_number_digest": opened_case_number_digest(*case_number)})
    w = ledger.submit(court.signer, j)
    return w, judgment_certificate(w, ledger.chain.chain_id, case_number=case_number)


def _dossier_cert(ledger, court, n=0):
    """A judgment by default and its dossier version 0 (complete copy, proof of service, an English translation)."""
    wj, _ = _judgment_cert(ledger, court, n)
    filed = file_dossier(ledger, court.signer, court.id, wj.record_id, complete_copy=DOCUMENT, by_default=True,
                         proof_of_service=b"served by post on 2016-06-03\n", translations={"en": b"translation\n"})
    return wj, filed, judgment_certificate(wj, ledger.chain.chain_id, dossier=certify_dossier(ledger, filed))


def _case(ledger, court, judgment_id, n_actions=2):
    filing = Filing(court=court.id, judgment_id=judgment_id,
                    case_number_digest=case_number_digest(CASE_KEY, f"(2019)京0105执{court.id}号"),
                    amount_due=1_600_000, filed_at=date(2019, 1, 2))
    wf = ledger.submit(court.signer, filing)
    actions = [
        Action(case_id=wf.record_id, sequence=0, kind=ActionKind.ASSET_INQUIRY, detail=0b11),
        Action(case_id=wf.record_id, sequence=1, kind=ActionKind.PAYMENT_RECEIVED, amount=1_000),
    ][:n_actions]
    written = [ledger.submit(court.signer, a) for a in actions]
    cert = case_certificate(wf, ledger.chain.chain_id, actions, state=CaseState.OPEN,
                            amount_recovered=sum(a.amount for a in actions), as_of=_head(ledger))
    return wf, actions, written, cert


def _listing(ledger, court, case_id, salt=b""):
    block_time = int(ledger.w3.eth.get_block("latest")["timestamp"])
    listing = Listing(court=court.id, subject=sha256_digest(b"blind-index-%d" % court.id + salt), case_id=case_id,
                      ground=Ground.ABLE_BUT_REFUSES, restrictions=Restriction.FLIGHTS | Restriction.RAIL,
                      listed_at=block_time, until=block_time + 730 * 86400)
    wl = ledger.submit(court.signer, listing)
    number, block_hash = _head(ledger)
    at = int(ledger.w3.eth.get_block(number)["timestamp"])
    return wl, defaulter_certificate(wl, ledger.chain.chain_id, as_of=(number, block_hash), at=at,
                                     until=listing.until)


def _all_certificates(ledger, court):
    """One certificate of each kind, on chain."""
    wj, cj = _judgment_cert(ledger, court, case_number=(f"(2016)京0102民初{court.id}号", b"\x07" * 32))
    wf, _, _, cc = _case(ledger, court, wj.record_id)
    _, cl = _listing(ledger, court, wf.record_id)
    digests = [sha256_digest(DOCUMENT)] + [sha256_digest(b"doc %d/%d" % (court.id, i)) for i in range(6)]
    nonces = [bytes([i + 1]) * 32 for i in range(len(digests))]
    root, proofs = leaf_tree([notary_leaf(d, n) for d, n in zip(digests, nonces, strict=True)])
    wa = ledger.submit(court.signer, Anchor(court=court.id, root=root, size=len(digests)))
    cn = notary_certificate(wa, ledger.chain.chain_id, digest=digests[0], nonce=nonces[0], proof=proofs[0])
    return {"judgment": cj, "enforcement_case": cc, "defaulter_status": cl, "notarized_digest": cn}


@pytest.fixture(scope="module")
def certificates(ledger, governor, funder):
    return _all_certificates(ledger, admit_new_court(ledger, governor, funder))


KINDS = ["judgment", "enforcement_case", "defaulter_status", "notarized_digest"]


def _data(cert) -> dict:
    return json.loads(cert.to_json() if hasattr(cert, "to_json") else cert)


def _fails(step, certificate, trust, **kwargs) -> VerificationError:
    with pytest.raises(VerificationError) as exc:
        verify_certificate(json.dumps(certificate) if isinstance(certificate, dict) else certificate,
                           trust=trust, **kwargs)
    assert exc.value.step == step, exc.value.reason
    return exc.value


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_authentic_and_in_force_online(certificates, kind, ledger, trust):
    text = certificates[kind].to_json()
    offline = verify_certificate(text, trust=trust)
    assert not offline.online and offline.authentic is None and offline.in_force is None
    assert [s.name for s in offline.steps][:3] == ["format", "network", "signature"]
    online = verify_certificate(text, trust=trust, rpc=ledger.w3)
    names = [s.name for s in online.steps]
    assert online.authentic is True and online.in_force is True and online.exit_code == 0
    assert names[-4:] == ["chain", "signer", "record", "status"]
    if kind == "notarized_digest":
        assert "proof" in names
    if kind == "judgment":
        assert "case_number" in names


def test_offline_result_says_what_it_does_not_prove(certificates, trust):
    result = verify_certificate(certificates["defaulter_status"].to_json(), trust=trust)
    assert result.exit_code == 4 and "NOT checked" in result.summary
    assert any("signer" in claim for claim in result.does_not_prove)
    assert any("until and removal" in claim for claim in result.does_not_prove)
    assert result.as_dict()["authentic"] is None


def test_document_matches_and_one_byte_differs(certificates, ledger, trust):
    for kind in ("judgment", "notarized_digest"):
        cert = certificates[kind]
        result = verify_certificate(cert, trust=trust, rpc=ledger.w3, document=DOCUMENT)
        assert "document" in [s.name for s in result.steps]
        tampered = bytearray(DOCUMENT)
        tampered[100] ^= 0x01
        _fails("document", cert.to_json(), trust, document=bytes(tampered))


# -- forgery class 1: rewritten enforcement history -----------------------------------------------


def test_forger_cannot_rewrite_a_payment_after_later_actions(ledger, new_court, governor, funder, trust):
    """A payment of 1,000 made 900,000, history hash recomputed, once the case has more actions."""
    forged = make_online_forgery("rewritten_history_after_later_actions", ledger, new_court(), governor, funder, 10)
    verify_certificate(json.dumps(forged), trust=trust)  # offline, the rewritten history is self-consistent
    assert "not the chain's" in _fails("status", forged, trust, rpc=ledger.w3).reason


def test_forger_cannot_leave_out_actions_recorded_before_the_certificate(ledger, new_court, governor, funder, trust):
    forged = make_online_forgery("case_omits_actions", ledger, new_court(), governor, funder, 11)
    assert "recorded 2 actions" in _fails("status", forged, trust, rpc=ledger.w3).reason


# -- forgery class 2: block time of the forger's choosing -----------------------------------------


def test_forger_cannot_move_the_block_time(certificates, ledger, trust):
    for kind in KINDS:
        forged = _data(certificates[kind])
        forged["transaction"]["block_time"] += 1
        if kind == "defaulter_status" and forged["defaulter"]["at"] < forged["transaction"]["block_time"]:
            # certified as of its own block: the moved time is after `at`, refused offline already (2.4)
            assert "block time" in _fails("format", forged, trust, rpc=ledger.w3).reason
            continue
        assert "timestamp" in _fails("signer", forged, trust, rpc=ledger.w3).reason


def test_retired_key_cannot_sign_a_record_written_after_the_rotation(ledger, court, governor, funder, trust):
    from eth_account import Account

    from tests.conftest import fund

    new_key = Account.create()
    fund(ledger.chain, funder, new_key.address)
    ledger.governance(governor, "addSigner", court.id, new_key.address)
    before_rotation = int(ledger.w3.eth.get_block("latest")["timestamp"])
    time.sleep(1.1)  # so the retirement's time is after `before_rotation` on every backend
    ledger.governance(governor, "retireSigner", court.signer.address)
    time.sleep(2.1)  # a retirement takes effect from the next second on
    w = ledger.submit(new_key, make_judgment(court.id, 12, document_digest=sha256_digest(DOCUMENT)))
    forged = _data(judgment_certificate(w, ledger.chain.chain_id))
    forged["signature"] = {"signer": court.signer.address, "value": "0x" + ledger.sign(court.signer, w.record).hex()}
    verify_certificate(json.dumps(forged), trust=trust)  # offline cannot tell
    _fails("signer", forged, trust, rpc=ledger.w3)  # at the block's real time, the old key was retired
    forged["transaction"]["block_time"] = before_rotation  # moved back to when the old key was valid
    assert "timestamp" in _fails("signer", forged, trust, rpc=ledger.w3).reason


# -- forgery class 3: any log will not do --------------------------------------------------------


def test_judgment_certificate_cannot_point_at_a_status_change_transaction(ledger, new_court, governor, funder, trust):
    forged = make_online_forgery("judgment_points_at_status_change", ledger, new_court(), governor, funder, 13)
    assert "did not emit JudgmentRecorded" in _fails("record", forged, trust, rpc=ledger.w3).reason


def test_case_certificate_cannot_point_at_an_action_transaction(ledger, new_court, governor, funder, trust):
    forged = make_online_forgery("case_points_at_action", ledger, new_court(), governor, funder, 14)
    assert "did not emit CaseOpened" in _fails("record", forged, trust, rpc=ledger.w3).reason


# -- forgery class 4: malleable signatures -------------------------------------------------------


def test_high_s_twin_of_a_signature_is_refused(certificates, trust):
    forged = _data(certificates["judgment"])
    forged["signature"]["value"] = high_s_twin(forged["signature"]["value"])
    assert "upper half" in _fails("signature", forged, trust).reason


def test_v_0_or_1_is_refused(certificates, trust):
    forged = _data(certificates["judgment"])
    forged["signature"]["value"] = v_zero_or_one(forged["signature"]["value"])
    _fails("format", forged, trust)


# -- forgery class 5: unsigned claims -----------------------------------------------------------


def test_flipped_restricted_answer_is_refused_offline(certificates, trust):
    forged = _data(certificates["defaulter_status"])
    forged["defaulter"]["restricted"] = not forged["defaulter"]["restricted"]
    assert "restricted" in _fails("format", forged, trust).reason


def test_forger_cannot_claim_an_extension_or_hide_a_removal(ledger, new_court, governor, funder, trust):
    extended = make_online_forgery("listing_claims_extension", ledger, new_court(), governor, funder, 15)
    assert "until" in _fails("status", extended, trust, rpc=ledger.w3).reason
    hidden = make_online_forgery("listing_hides_removal", ledger, new_court(), governor, funder, 15)
    assert "removed_at" in _fails("status", hidden, trust, rpc=ledger.w3).reason  # removed before that block


def test_case_number_that_does_not_open_the_digest_is_refused(certificates, trust):
    forged = _data(certificates["judgment"])
    forged["case_number"]["text"] = forged["case_number"]["text"].replace("民初", "民终")
    _fails("case_number", forged, trust)


# -- forgery class 6: green for a dead record ----------------------------------------------------


def test_set_aside_judgment_is_authentic_but_not_in_force(ledger, court, trust):
    w, cert = _judgment_cert(ledger, court, 16)
    before = int(ledger.w3.eth.get_block("latest")["timestamp"])
    time.sleep(1.1)
    ledger.submit(court.signer, JudgmentStatusChange(judgment_id=w.record_id, status=JudgmentStatus.SET_ASIDE,
                                                     sequence=0))
    result = verify_certificate(cert, trust=trust, rpc=ledger.w3)
    assert result.authentic is True and result.in_force is False and result.state == "set_aside"
    assert result.exit_code == 3 and "NOT in force" in result.summary
    then = verify_certificate(cert, trust=trust, rpc=ledger.w3, at=before)
    assert then.in_force is True and then.state == "effective"


def test_superseded_judgment_names_its_successor_and_is_not_in_force(ledger, court, trust):
    old, cert = _judgment_cert(ledger, court, 17)
    new, _ = _judgment_cert(ledger, court, 18)
    ledger.submit(court.signer, JudgmentStatusChange(judgment_id=old.record_id, status=JudgmentStatus.SUPERSEDED,
                                                     superseded_by=new.record_id, sequence=0))
    result = verify_certificate(cert, trust=trust, rpc=ledger.w3)
    assert result.in_force is False and result.state == "superseded"
    assert result.status["superseded_by"] == "0x" + new.record_id.hex()


def test_removed_listing_is_authentic_but_not_in_force(ledger, court, trust):
    wj, _ = _judgment_cert(ledger, court, 19)
    wf, _, _, _ = _case(ledger, court, wj.record_id, n_actions=0)
    wl, cert = _listing(ledger, court, wf.record_id)
    ledger.submit(court.signer, Removal(listing_id=wl.record_id, reason=RemovalReason.PERFORMED, sequence=0))
    result = verify_certificate(cert, trust=trust, rpc=ledger.w3)
    assert result.authentic is True and result.in_force is False and result.state == "removed"
    assert result.status["removal_reason"] == "performed" and result.status["restricted"] is False


# -- the rest of the format ----------------------------------------------------------------------


@pytest.mark.parametrize("field", ["amount", "currency", "court", "document_digest", "parties_commitment",
                                   "case_number_digest", "judgment_date", "effective_date"])
def test_changing_any_judgment_field_fails(certificates, trust, field):
    data = _data(certificates["judgment"])
    data.pop("case_number")
    record = data["record"]
    record[field] = {
        "amount": str(int(record["amount"]) + 1), "currency": "USD", "court": record["court"] + 1,
        "document_digest": "0x" + "ab" * 32, "parties_commitment": "0x" + "cd" * 32,
        "case_number_digest": "0x" + "ef" * 32, "judgment_date": "2016-05-31", "effective_date": "2016-06-16",
    }[field]
    from ledger.records import Judgment

    data["record_id"] = "0x" + Judgment.model_validate(
        {**record, "amount": int(record["amount"])}).record_id().hex()  # consistent id: passes format
    _fails("signature", data, trust)


def test_numbers_and_strings_are_not_interchangeable(certificates, trust):
    as_number = _data(certificates["judgment"])
    as_number["record"]["amount"] = int(as_number["record"]["amount"])
    assert "record/amount" in _fails("format", as_number, trust).reason
    as_string = _data(certificates["judgment"])
    as_string["record"]["court"] = str(as_string["record"]["court"])
    assert "record/court" in _fails("format", as_string, trust).reason


def test_format_1_is_refused_with_a_clear_message(certificates, trust):
    old = _data(certificates["judgment"])
    old["version"] = 1
    assert "ask the court for a v2 certificate" in _fails("format", old, trust).reason


def test_swapped_signature_fails(certificates, trust):
    data = _data(certificates["judgment"])
    data["signature"]["value"] = certificates["enforcement_case"].signature.value
    _fails("signature", data, trust)


def test_proof_for_another_nonce_fails(certificates, trust):
    data = _data(certificates["notarized_digest"])
    data["notary"]["nonce"] = "0x" + "99" * 32
    _fails("proof", data, trust)


def test_untrusted_deployment_fails_network(certificates, trust):
    data = _data(certificates["judgment"])
    data["network"]["contract"] = "0x" + "12" * 20
    assert "not a trusted deployment" in _fails("network", data, trust).reason


def test_descriptor_not_signed_by_pinned_governor_is_refused(deployment, relayer, governor):
    from ledger.errors import ConfigurationError

    descriptor = NetworkDescriptor.from_deployment(deployment, "evil").signed(relayer)
    with pytest.raises(ConfigurationError):
        TrustAnchors.from_descriptors([descriptor], [governor.address])


def test_parse_roundtrip(certificates):
    for cert in certificates.values():
        assert parse_certificate(cert.to_json()) == cert


# -- online forged vectors (tests/golden/forged/online.json): the transformation is the vector ----------

ONLINE_VECTORS = json.loads((__import__("pathlib").Path(__file__).parent / "golden" / "forged" / "online.json")
                            .read_text("utf-8"))


def _tx(w) -> dict:
    return {"hash": w.transaction_hash.lower(), "block_number": w.block_number, "block_hash": w.block_hash.lower(),
            "block_time": w.block_time}


def make_online_forgery(name: str, ledger, court, governor, funder, n: int) -> dict:
    """Build the chain state of vector ``name`` and return its forged certificate (as JSON data)."""
    if name == "rewritten_history_after_later_actions":
        wj, _ = _judgment_cert(ledger, court, n)
        wf, actions, _, cert = _case(ledger, court, wj.record_id)
        ledger.submit(court.signer, Action(case_id=wf.record_id, sequence=2, kind=ActionKind.FREEZE))
        forged = _data(cert)
        forged["case"]["actions"][1]["amount"] = "900000"
        rewritten = [actions[0], actions[1].model_copy(update={"amount": 900_000})]
        forged["case"]["history_hash"] = "0x" + case_history_hash(wf.record_id, rewritten).hex()
        forged["case"]["amount_recovered"] = "900000"
        return forged
    if name == "block_time_plus_one":
        _, cert = _judgment_cert(ledger, court, n)
        forged = _data(cert)
        forged["transaction"]["block_time"] += 1
        return forged
    if name == "retired_key_block_time_moved_back":
        from eth_account import Account

        from tests.conftest import fund

        new_key = Account.create()
        fund(ledger.chain, funder, new_key.address)
        ledger.governance(governor, "addSigner", court.id, new_key.address)
        before = int(ledger.w3.eth.get_block("latest")["timestamp"])
        time.sleep(1.1)
        ledger.governance(governor, "retireSigner", court.signer.address)
        time.sleep(2.1)
        w = ledger.submit(new_key, make_judgment(court.id, n, document_digest=sha256_digest(DOCUMENT)))
        forged = _data(judgment_certificate(w, ledger.chain.chain_id))
        forged["signature"] = {"signer": court.signer.address,
                               "value": "0x" + ledger.sign(court.signer, w.record).hex()}
        forged["transaction"]["block_time"] = before
        return forged
    if name == "judgment_points_at_status_change":
        w, cert = _judgment_cert(ledger, court, n)
        change = ledger.submit(court.signer, JudgmentStatusChange(judgment_id=w.record_id,
                                                                  status=JudgmentStatus.UNDER_APPEAL, sequence=0))
        forged = _data(cert)
        forged["transaction"] = _tx(change)
        return forged
    if name == "case_points_at_action":
        wj, _ = _judgment_cert(ledger, court, n)
        _, _, written, cert = _case(ledger, court, wj.record_id)
        forged = _data(cert)
        forged["transaction"] = _tx(written[0])
        return forged
    if name in ("listing_claims_extension", "listing_hides_removal"):
        wj, _ = _judgment_cert(ledger, court, n)
        wf, _, _, _ = _case(ledger, court, wj.record_id, n_actions=0)
        wl, cert = _listing(ledger, court, wf.record_id)
        forged = _data(cert)
        if name == "listing_claims_extension":
            forged["defaulter"]["until"] += 365 * 86400
            return forged
        ledger.submit(court.signer, Removal(listing_id=wl.record_id, reason=RemovalReason.PERFORMED, sequence=0))
        number, block_hash = _head(ledger)
        forged["as_of"] = {"block_number": number, "block_hash": block_hash}
        forged["defaulter"]["at"] = int(ledger.w3.eth.get_block(number)["timestamp"])
        return forged
    if name == "case_omits_actions":
        wj, _ = _judgment_cert(ledger, court, n)
        wf, actions, _, cert = _case(ledger, court, wj.record_id)
        forged = _data(cert)
        forged["case"]["actions"] = forged["case"]["actions"][:1]
        forged["case"]["history_hash"] = "0x" + case_history_hash(wf.record_id, actions[:1]).hex()
        forged["case"]["amount_recovered"] = "0"
        return forged
    if name.startswith("dossier_"):
        wj, filed, cert = _dossier_cert(ledger, court, n)
        forged = _data(cert)
        if name == "dossier_superseded_presented_as_latest":
            file_dossier(ledger, court.signer, court.id, wj.record_id, complete_copy=DOCUMENT, by_default=True,
                         proof_of_service=b"served by post on 2016-06-03\n",
                         translations={"en": b"translation\n", "fr": b"traduction\n"})
            number, block_hash = _head(ledger)
            forged["dossier"]["as_of"] = {"block_number": number, "block_hash": block_hash}
        elif name == "dossier_signed_by_another_courts_key":
            other = admit_new_court(ledger, governor, funder)
            forged["dossier"]["signature"] = {"signer": other.signer.address,
                                              "value": "0x" + ledger.sign(other.signer, filed.written.record).hex()}
        else:
            forged["dossier"]["transaction"] = _tx(wj)
        return forged
    raise AssertionError(f"no transformation for online vector {name}")


@pytest.mark.parametrize("name", sorted(ONLINE_VECTORS))
def test_online_forged_vector_is_refused_at_its_step(name, ledger, new_court, governor, funder, trust):
    forged = make_online_forgery(name, ledger, new_court(), governor, funder, 40)
    verify_certificate(json.dumps(forged), trust=trust)  # each passes offline: only the chain refuses it
    _fails(ONLINE_VECTORS[name]["step"], forged, trust, rpc=ledger.w3)


# -- property: any single-field change is refused, offline or online, never accepted --------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.mutations import mutate_one_field  # noqa: E402


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_field_change_is_refused(certificates, ledger, trust, data):
    kind = data.draw(st.sampled_from(KINDS))
    cert = _data(certificates[kind])
    if mutate_one_field(cert, data.draw) is None:
        return
    text = json.dumps(cert)
    with pytest.raises(VerificationError):
        verify_certificate(text, trust=trust)
        verify_certificate(text, trust=trust, rpc=ledger.w3)  # accepted offline: the chain must refuse it


@pytest.mark.parametrize("chain", ["anvil"], indirect=True)  # the in-process chain has no JSON-RPC URL
def test_javascript_verifier_agrees_online(chain, ledger, new_court, governor, funder, deployment):
    """js/verifier against the same node (anvil): the genuine certificates and every online forged vector."""
    import shutil
    import subprocess
    from pathlib import Path

    court = new_court()
    genuine = _all_certificates(ledger, court)
    genuine["judgment_with_dossier"] = _dossier_cert(ledger, court, 61)[2]
    cases = [{"name": kind, "certificate": _data(cert)} for kind, cert in genuine.items()]
    cases += [{"name": name, "certificate": make_online_forgery(name, ledger, new_court(), governor, funder, 60)}
              for name in sorted(ONLINE_VECTORS)]
    descriptor = NetworkDescriptor.from_deployment(deployment, "test-network").signed(governor)
    payload = {"rpc": chain.url, "descriptor": descriptor.model_dump(), "governor": governor.address, "cases": cases}
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([shutil.which("node") or "node", str(repo / "tests" / "js" / "online-check.mjs")],
                          input=json.dumps(payload), capture_output=True, text=True, timeout=300, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    answers = json.loads(proc.stdout)
    for kind in [*KINDS, "judgment_with_dossier"]:
        python = verify_certificate(genuine[kind], trust=TrustAnchors.from_descriptors([descriptor],
                                                                                    [governor.address]),
                                    rpc=ledger.w3)
        assert answers[kind]["authentic"] is True and answers[kind]["in_force"] is True, answers[kind]
        assert answers[kind]["steps"] == [s.name for s in python.steps] and answers[kind]["state"] == python.state
        assert answers[kind].get("dossier") == python.dossier and answers[kind].get("effect") == \
            python.as_dict().get("effect")
        if kind.startswith("judgment"):
            assert {k: answers[kind]["status"][k] for k in python.status} == python.status
    for name, vector in ONLINE_VECTORS.items():
        assert answers[name].get("step") == vector["step"], (name, answers[name])
