"""The case-number normal form (docs/verification.md 2.5) on the shared vectors every verifier runs
(tests/golden/case_numbers.json), and its idempotence over random Unicode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.records import normalise_case_number, opened_case_number_digest

VECTORS = json.loads((Path(__file__).parent / "golden" / "case_numbers.json").read_text("utf-8"))


@pytest.mark.parametrize("vector", VECTORS, ids=[v["case"] for v in VECTORS])
def test_case_number_vector(vector):
    if vector.get("refused"):
        with pytest.raises(ValueError) as exc:
            normalise_case_number(vector["input"])
        assert vector["input"] == "" or vector["input"] not in str(exc.value)
    else:
        assert normalise_case_number(vector["input"]) == vector["normal"]


def test_a_court_opening_of_a_combining_mark_after_a_space_is_accepted_by_a_verifier():
    """The defect the old form had: "A1e \\u0301" normalised to text a verifier then found not normal."""
    text = normalise_case_number("A1e \u0301")
    assert opened_case_number_digest(text, b"\x73" * 32)  # no ValueError: the court's own opening opens


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=24))
@example("A1e \u0301")
@example("\u1100 \u1161")
@example("A\u00a8")
@example("\u0301 \u0301e")
def test_normal_form_is_idempotent(text):
    try:
        once = normalise_case_number(text)
    except ValueError:
        return
    assert normalise_case_number(once) == once


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(["e", "A", "1", " ", "\u3000", "\u0301", "\u0308", "\u1100", "\u1161", "\u11a8",
                                 "\u00a8", "\u02d8", "\uff08", "\u2000", "\u0327", "\u0323", "\u00c5"]), max_size=12))
def test_normal_form_is_idempotent_on_spaces_between_combining_sequences(parts):
    """Random Unicode rarely puts a combining mark after a space: this draws exactly such texts."""
    try:
        once = normalise_case_number("".join(parts))
    except ValueError:
        return
    assert normalise_case_number(once) == once
