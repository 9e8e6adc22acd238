"""No unkeyed digest of a case number anywhere on the demo chain: calldata, logs or storage.

The attack of issue 11 (3): hashing plausible case numbers and matching them against on-chain digests
ties listings to public court records, and through them to people. Case numbers now go on chain only as
``keccak256(salt || text)`` with ``salt = HMAC(K_case, text)``. This test takes every case number the
demo and the tests use, in every normal form a hasher might try, hashes each without the key (keccak256,
SHA-256) and finds none of them on a chain where the demo ran; the keyed digests, by contrast, are there.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import secrets
import unicodedata
from pathlib import Path

import pytest
from eth_utils import keccak

from ledger.chain import connect
from ledger.client import Ledger
from ledger.demo import play
from ledger.deployment import deploy
from ledger.privacy import BlindIndexKey, CaseNumberKey, Vault
from ledger.records import case_number_digest, normalise_case_number, open_case_number, opened_case_number_digest

pytestmark = pytest.mark.anvil

ROOT = Path(__file__).resolve().parents[1]
CASE_NUMBER = re.compile(r"[（(]\s*\d{4}\s*[)）][^\"'{}\s]*?号")
HALF_TO_FULL = str.maketrans({"(": "（", ")": "）"})


def _case_numbers_in_sources() -> set[str]:
    """Every literal case number in the demo and the tests (f-string templates have braces: skipped)."""
    found: set[str] = set()
    for path in [ROOT / "ledger" / "demo.py", *sorted((ROOT / "tests").rglob("*.py"))]:
        found.update(CASE_NUMBER.findall(path.read_text(encoding="utf-8")))
    return found


def _variants(case_number: str) -> set[str]:
    """The forms a hasher would try: raw, NFC, NFKC, without spaces, with full- and half-width brackets."""
    forms = {case_number, unicodedata.normalize("NFC", case_number), unicodedata.normalize("NFKC", case_number)}
    forms |= {"".join(f.split()) for f in forms}
    forms |= {f.translate(HALF_TO_FULL) for f in forms} | {unicodedata.normalize("NFKC", f) for f in forms}
    return forms


def _unkeyed_digests(case_numbers: set[str]) -> set[bytes]:
    out: set[bytes] = set()
    for number in case_numbers:
        for form in _variants(number):
            raw = form.encode("utf-8")
            out |= {keccak(raw), hashlib.sha256(raw).digest(), keccak(hashlib.sha256(raw).digest())}
    return out


@pytest.fixture(scope="module")
def demo_chain(tmp_path_factory):
    chain = connect("local", data_dir=tmp_path_factory.mktemp("demo-chain"))
    ledger = Ledger(chain, deploy(chain, chain.accounts[0]))
    vault = Vault.open(tmp_path_factory.mktemp("vault") / "vault.db", secrets.token_bytes(32))
    case_key = CaseNumberKey.generate()
    play(ledger, chain.accounts[0], vault, BlindIndexKey.generate(), case_key, funder=chain.accounts[1])
    yield ledger, case_key
    vault.close()
    chain.close()


def _chain_blobs(ledger: Ledger) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(calldata of every transaction, every log's topics and data, every storage slot's value and key)."""
    w3 = ledger.w3
    calldata, logs = [], []
    for number in range(w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            calldata.append(bytes(tx["input"]))
            for log in w3.eth.get_transaction_receipt(tx["hash"])["logs"]:
                logs.append(b"".join(bytes(t) for t in log["topics"]) + bytes(log["data"]))
    dump = w3.provider.make_request("anvil_dumpState", [])["result"]  # developer tooling: tests only
    state = json.loads(gzip.decompress(bytes.fromhex(dump.removeprefix("0x"))))
    storage = []
    for account in state["accounts"].values():
        for slot, value in (account.get("storage") or {}).items():
            storage += [bytes.fromhex(slot.removeprefix("0x").rjust(64, "0")),
                        bytes.fromhex(value.removeprefix("0x").rjust(64, "0"))]
    return calldata, logs, storage


def test_no_unkeyed_case_number_digest_in_any_calldata_log_or_storage_slot(demo_chain):
    ledger, case_key = demo_chain
    numbers = _case_numbers_in_sources()
    assert {"(2019)京0108民初12345号", "(2019)京0108执4567号", "(2017)京01民初77号"} <= numbers
    needles = _unkeyed_digests(numbers)
    calldata, logs, storage = _chain_blobs(ledger)
    assert len(calldata) > 40 and len(logs) > 40 and len(storage) > 40
    for where, blobs in (("calldata", calldata), ("a log", logs), ("a storage slot", storage)):
        for blob in blobs:
            for needle in needles:
                assert needle not in blob, f"an unkeyed case-number digest in {where}"
    # The scan reads the right places: the keyed digests of the demo's case numbers are in the logs.
    keyed = case_number_digest(case_key, "(2019)京0108民初12345号")
    assert any(keyed in blob for blob in logs) and any(keyed in blob for blob in calldata)


def test_scan_would_catch_an_unkeyed_digest():
    needles = _unkeyed_digests({"(2019)京0108执4567号"})
    leaked = b"\x00" * 7 + keccak("（2019）京0108执 4567号".translate(str.maketrans("（）", "()")).replace(" ", "")
                                 .encode()) + b"\x01"
    assert any(n in leaked for n in needles)


def test_opening_recomputes_the_digest_without_the_key():
    key = CaseNumberKey.generate()
    opening = open_case_number(key, "（2016）京0102执 1234号")
    assert opening.text == "(2016)京0102执1234号"
    assert opened_case_number_digest(opening.text, opening.salt) == case_number_digest(key, "(2016)京0102执1234号")
    assert case_number_digest(CaseNumberKey.generate(), "(2016)京0102执1234号") != opening.digest
    assert opening.salt.hex() not in repr(opening)


@pytest.mark.parametrize("text", ["(2016)京0102执\u200b1234号", "(2016)\ufeff京0102执1234号", "\x1c(2016)京执1号",
                                  " \u3000 "])
def test_invisible_characters_are_refused_not_deleted(text):
    with pytest.raises(ValueError) as refused:
        normalise_case_number(text)
    assert "2016" not in str(refused.value) and "1234" not in str(refused.value)


def test_every_white_space_code_point_is_deleted():
    spaces = ("\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
              + "\u2028\u2029\u202f\u205f\u3000")
    assert normalise_case_number(f"({spaces}2016)京0102执1234号") == "(2016)京0102执1234号"


def test_an_opening_not_in_normal_form_is_refused():
    with pytest.raises(ValueError, match="normal form"):
        opened_case_number_digest("（2016）京0102执1234号", b"\x00" * 32)
