"""The /verify page shows a judgment's Hague dossier and its effect in the State of origin, in Chinese,
English and French (Chromium, as a foreign clerk uses it)."""

from __future__ import annotations

import hashlib
import json

import pytest
from selenium.webdriver.common.by import By

from tests.api.conftest import judgment_body
from tests.api.test_verify_page import DOCUMENT, base_url, browser, drop_files, open_page, steps  # noqa: F401


@pytest.fixture(scope="module")
def dossier_files(court, tmp_path_factory):
    api = court.api
    sha = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
    jid = api.confirmed(api.post("/api/v1/judgments", judgment_body(document_sha256=sha(DOCUMENT))))["record_id"]
    filed = api.confirmed(api.post(f"/api/v1/judgments/{jid}/dossier", {
        "by_default": True, "complete_copy_sha256": sha(DOCUMENT), "proof_of_service_sha256": sha(b"served"),
        "translations": [{"language": "fr", "sha256": sha(b"fr")}, {"language": "en", "sha256": sha(b"en")}]}))
    cert = api.get(f"/api/v1/records/{filed['outbox_id']}/certificate").json()
    folder = tmp_path_factory.mktemp("dossier-clerk")
    (folder / "certificate.json").write_text(json.dumps(cert, ensure_ascii=False))
    (folder / "judgment.pdf").write_bytes(DOCUMENT)
    return folder / "certificate.json", folder / "judgment.pdf", cert


def _facts(driver) -> dict[str, str]:
    return {dd.get_attribute("data-fact"): dd.text
            for dd in driver.find_elements(By.CSS_SELECTOR, "#verdict-facts dd[data-fact]")}


@pytest.mark.parametrize(("lang", "translations", "enforceable", "step"), [
    ("en", "Certified translations", "yes", "Dossier (Hague art. 12)"),
    ("zh", "经认证的译本", "是", "判决卷宗（海牙公约第12条）"),
    ("fr", "Traductions certifiées", "oui", "Dossier (art. 12 de la Convention de La Haye)"),
])
def test_page_shows_the_dossier_and_enforceability(browser, base_url, dossier_files, lang, translations,  # noqa: F811
                                                   enforceable, step):
    certificate, document, cert = dossier_files
    open_page(browser, base_url)
    browser.find_element(By.ID, f"lang-{lang}").click()
    drop_files(browser, certificate, document)
    assert browser.find_element(By.ID, "verdict").get_attribute("data-verdict") == "verified"
    shown = steps(browser)
    assert [name for name, _, _ in shown] == ["format", "network", "signature", "dossier", "document", "chain",
                                              "signer", "record", "dossier_chain", "status"]
    assert ("dossier", "true", step) in shown
    facts = _facts(browser)
    assert facts["translations"] == "en, fr" and facts["enforceable"] == enforceable
    assert facts["dossier"] == "0"
    assert translations in browser.find_element(By.ID, "verdict-facts").text
    assert cert["dossier"]["complete_copy"] in browser.find_element(By.ID, "verdict-facts").text


@pytest.mark.parametrize("chain", ["anvil"], indirect=True)  # the browser needs a JSON-RPC URL
def test_clerks_browser_checks_a_stayed_judgments_dossier_against_the_node(
        browser, base_url, chain, ledger, deployment, governor, new_court, tmp_path):  # noqa: F811
    """In-browser mode (js/verifier against the node, no service of ours): the dossier verifies, and a stay of
    enforcement shows the judgment as not in force and not enforceable, in French."""
    from ledger.certificates import judgment_certificate
    from ledger.dossiers import certify_dossier, file_dossier
    from ledger.records import JudgmentStatus, JudgmentStatusChange
    from ledger.verify import NetworkDescriptor
    from tests.api.test_verify_page import pin_node, posts
    from tests.conftest import make_judgment

    court = new_court()
    w = ledger.submit(court.signer, make_judgment(court.id, 3, document_digest=hashlib.sha256(DOCUMENT).digest()))
    filed = file_dossier(ledger, court.signer, court.id, w.record_id, complete_copy=DOCUMENT,
                         translations={"en": b"english"})
    cert = judgment_certificate(w, ledger.chain.chain_id, dossier=certify_dossier(ledger, filed))
    ledger.submit(court.signer, JudgmentStatusChange(judgment_id=w.record_id, status=JudgmentStatus.STAYED,
                                                     sequence=0))
    descriptor = NetworkDescriptor.from_deployment(deployment, "test").signed(governor)
    (tmp_path / "network.json").write_text(json.dumps({"descriptor": descriptor.model_dump(),
                                                       "governor_pinned": governor.address}))
    (tmp_path / "judgment.pdf").write_bytes(DOCUMENT)
    (tmp_path / "c.json").write_text(cert.to_json())

    open_page(browser, base_url)
    browser.find_element(By.ID, "lang-fr").click()
    pin_node(browser, chain.url, tmp_path / "network.json")
    drop_files(browser, tmp_path / "c.json", tmp_path / "judgment.pdf", mode="browser")
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-verdict") == "not-in-force" and verdict.get_attribute("data-state") == "stayed"
    assert "dossier_chain" in [name for name, _, _ in steps(browser)]
    facts = _facts(browser)
    assert facts["enforceable"] == "non" and facts["translations"] == "en"
    assert "exécution suspendue" in verdict.text
    assert all(url.rstrip("/") == chain.url.rstrip("/") for url, _ in posts(browser))  # only the node was asked
