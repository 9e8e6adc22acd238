"""The public /verify page in headless Chromium against the real service (uvicorn on loopback).

A clerk drops a judgment's certificate and the document: the page hashes the document in the browser and
either checks the certificate itself with js/verifier against a node URL and a pinned descriptor (the
default: no request to our service), or sends only the certificate and the SHA-256 to the service; it shows
each step and the two answers, authentic and in force. Needs Debian's ``chromium`` and
``chromium-driver`` and the ``selenium`` package (scripts/setup.sh --browser installs them).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.api._browser import chromium
from tests.api._live import live_server
from tests.api.conftest import judgment_body

DOCUMENT = b"%PDF-1.7\n% signed judgment of the Haidian court\n" + b"stream " * 4000 + b"\n%%EOF\n"


@pytest.fixture(scope="module")
def base_url(services) -> Iterator[str]:
    """The real application, served by uvicorn on a free loopback port, as scripts/serve.py serves it."""
    with live_server(services) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def files(court, tmp_path_factory) -> dict[str, Path]:
    """A judgment recorded through the API, its certificate, the document and a one-byte-tampered copy."""
    api = court.api
    record = api.confirmed(
        api.post("/api/v1/judgments", judgment_body(document_sha256=hashlib.sha256(DOCUMENT).hexdigest()))
    )
    cert = api.get(f"/api/v1/judgments/{record['record_id']}/certificate")
    assert cert.status_code == 200, cert.text
    folder = tmp_path_factory.mktemp("clerk")
    paths = {
        "certificate": folder / "certificate.json",
        "document": folder / "judgment.pdf",
        "tampered": folder / "judgment-copy.pdf",
    }
    paths["certificate"].write_text(json.dumps(cert.json(), ensure_ascii=False, indent=2))
    paths["document"].write_bytes(DOCUMENT)
    tampered = bytearray(DOCUMENT)
    tampered[len(tampered) // 2] ^= 0x01
    paths["tampered"].write_bytes(bytes(tampered))
    return paths


def open_page(driver: Any, base_url: str) -> None:
    driver.get(base_url + "/verify/")
    driver.execute_script("window.localStorage.clear()")
    driver.get(base_url + "/verify/")
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "lang-en").get_attribute("aria-pressed"))
    driver.get_log("performance")  # drop the page load's events


def drop_files(driver: Any, certificate: Path, document: Path | None, *, mode: str = "service") -> None:
    driver.find_element(By.ID, f"mode-{mode}").click()
    driver.find_element(By.ID, "certificate-input").send_keys(str(certificate))
    if document is not None:
        driver.find_element(By.ID, "document-input").send_keys(str(document))
        WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "document-sha256").text)
    button = driver.find_element(By.ID, "verify-button")
    WebDriverWait(driver, 30).until(lambda d: button.is_enabled())
    button.click()
    WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "verdict").get_attribute("data-verdict"))


def pin_node(driver: Any, rpc_url: str, descriptor: Path) -> None:
    """In-browser mode: the node URL the clerk gives and the network descriptor the clerk pinned."""
    driver.find_element(By.ID, "mode-browser").click()
    rpc = driver.find_element(By.ID, "rpc-input")
    rpc.clear()
    rpc.send_keys(rpc_url)
    driver.find_element(By.ID, "descriptor-input").send_keys(str(descriptor))
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "governor-input").get_attribute("value"))


def steps(driver: Any) -> list[tuple[str, str, str]]:
    items = driver.find_elements(By.CSS_SELECTOR, "#steps li")
    return [
        (
            li.get_attribute("data-step"),
            li.get_attribute("data-ok"),
            li.find_element(By.CLASS_NAME, "name").text,
        )
        for li in items
    ]


def posts(driver: Any) -> list[tuple[str, str]]:
    """(url, body) of the page's POSTs, from Chromium's network log."""
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.requestWillBeSent":
            continue
        request = message["params"]["request"]
        if request["method"] == "POST":
            out.append((request["url"], request.get("postData", "")))
    return out


def verify_requests(driver: Any) -> list[str]:
    """Bodies of the page's POSTs to the verify endpoint (and no POST elsewhere)."""
    sent = posts(driver)
    assert all(url.endswith("/api/v1/verify/certificate") for url, _ in sent), sent
    return [body for _, body in sent]


def test_the_page_is_served_at_verify(base_url):
    r = httpx.get(base_url + "/verify", follow_redirects=True, timeout=60)
    assert r.status_code == 200 and "verify.js" in r.text
    assert (
        httpx.get(base_url + "/verify/verify.js", timeout=60)
        .headers["content-type"]
        .startswith(("application/javascript", "text/javascript"))
    )


def test_certificate_and_document_verify(browser, base_url, files):
    open_page(browser, base_url)
    drop_files(browser, files["certificate"], files["document"])

    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-verdict") == "verified"
    assert browser.find_element(By.ID, "verdict-title").text == "✓ Authentic · in force"
    assert verdict.get_attribute("data-in-force") == "true"
    shown = steps(browser)
    assert [name for name, _, _ in shown] == [
        "format",
        "network",
        "signature",
        "document",
        "chain",
        "signer",
        "record",
        "status",
    ]
    assert all(ok == "true" for _, ok, _ in shown)
    assert ("document", "true", "Document fingerprint") in shown
    assert browser.find_element(By.ID, "document-sha256").text == hashlib.sha256(DOCUMENT).hexdigest()
    assert "effective" in verdict.text

    (body,) = verify_requests(browser)  # the document stayed in the browser: only its digest went out
    sent = json.loads(body)
    assert set(sent) == {"certificate", "document_sha256"}
    assert sent["document_sha256"] == hashlib.sha256(DOCUMENT).hexdigest()
    assert "signed judgment" not in body


def test_tampered_document_fails_at_step_document(browser, base_url, files):
    open_page(browser, base_url)
    drop_files(browser, files["certificate"], files["tampered"])

    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-verdict") == "failed"
    assert verdict.get_attribute("data-failed-step") == "document"
    assert "does not match" in browser.find_element(By.ID, "verdict-title").text
    shown = {name: ok for name, ok, _ in steps(browser)}
    assert shown["document"] == "false"
    assert shown["format"] == shown["signature"] == "true"


def pressed(driver: Any) -> str:
    return driver.find_element(By.CSS_SELECTOR, '[data-lang][aria-pressed="true"]').get_attribute("data-lang")


def test_chinese_interface(browser, base_url, files):
    open_page(browser, base_url)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Verify a judicial record"
    browser.find_element(By.ID, "lang-zh").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "核验司法记录"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    assert browser.find_element(By.ID, "verify-button").text == "核验"
    assert browser.find_element(By.ID, "lookup-button").text == "查询"
    assert pressed(browser) == "zh"

    drop_files(browser, files["certificate"], files["tampered"])
    assert browser.find_element(By.ID, "verdict-title").text == "✗ 核验未通过：文书与证书不符"
    names = {name: label for name, _, label in steps(browser)}
    assert names["document"] == "文书指纹" and names["signature"] == "法院签名"
    details = {li.get_attribute("data-step"): li.find_element(By.CLASS_NAME, "detail").text
               for li in browser.find_elements(By.CSS_SELECTOR, "#steps li")}
    assert details["document"] == "文书的 SHA-256 与证书所证明的不同"  # the step's detail too, not English
    assert details["signature"] == "法院对该记录的签名有效"

    browser.refresh()  # the choice is remembered
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "核验司法记录")
    browser.find_element(By.ID, "lang-en").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Verify a judicial record"


def test_french_interface(browser, base_url, files):
    open_page(browser, base_url)
    browser.find_element(By.ID, "lang-fr").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Vérifier une inscription judiciaire"
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert browser.title == "Vérifier une inscription judiciaire"
    drop_files(browser, files["certificate"], files["tampered"])
    assert browser.find_element(By.ID, "verdict-title").text == (
        "✗ Non vérifié : le document ne correspond pas au certificat")
    names = {name: label for name, _, label in steps(browser)}
    assert names["document"] == "Empreinte du document"


@pytest.mark.parametrize(("preferred", "heading", "title"), [
    (["zh-CN", "zh"], "核验司法记录", "司法记录核验"),
    (["fr-CH", "fr", "en"], "Vérifier une inscription judiciaire", "Vérifier une inscription judiciaire"),
    (["de-DE", "fr"], "Vérifier une inscription judiciaire", "Vérifier une inscription judiciaire"),
    (["de-DE"], "Verify a judicial record", "Verify a judicial record"),
])
def test_default_language_follows_the_browser(browser, base_url, preferred, heading, title):
    """The page opens in the first of the browser's preferred languages it has, else in English."""
    script = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": (
                f"Object.defineProperty(navigator, 'language', {{get: () => {json.dumps(preferred[0])}}});"
                f"Object.defineProperty(navigator, 'languages', {{get: () => {json.dumps(preferred)}}});"
            )
        },
    )
    try:
        open_page(browser, base_url)
        assert browser.find_element(By.TAG_NAME, "h1").text == heading
        assert browser.title == title
    finally:
        browser.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]}
        )


@pytest.mark.parametrize("chain", ["anvil"], indirect=True)  # the browser needs a JSON-RPC URL
def test_the_clerks_browser_checks_against_a_node_without_our_service(
    browser, base_url, chain, ledger, deployment, governor, new_court, tmp_path
):
    """In-browser mode: js/verifier against anvil with a pinned descriptor; a set-aside judgment is not green."""
    from ledger.certificates import judgment_certificate
    from ledger.records import JudgmentStatus, JudgmentStatusChange
    from ledger.verify import NetworkDescriptor, TrustAnchors, verify_certificate
    from tests.conftest import make_judgment

    court = new_court()
    written = [ledger.submit(court.signer, make_judgment(court.id, n, document_digest=hashlib.sha256(DOCUMENT)
                                                         .digest())) for n in (1, 2)]
    ledger.submit(court.signer, JudgmentStatusChange(judgment_id=written[1].record_id,
                                                     status=JudgmentStatus.SET_ASIDE, sequence=0))
    descriptor = NetworkDescriptor.from_deployment(deployment, "中国法院网络 test").signed(governor)
    (tmp_path / "network.json").write_text(json.dumps({"descriptor": descriptor.model_dump(),
                                                       "governor_pinned": governor.address}, ensure_ascii=False))
    (tmp_path / "judgment.pdf").write_bytes(DOCUMENT)
    certs = []
    for i, w in enumerate(written):
        cert = judgment_certificate(w, ledger.chain.chain_id)
        (tmp_path / f"c{i}.json").write_text(cert.to_json())
        certs.append(cert)
    python = verify_certificate(certs[0], trust=TrustAnchors.from_descriptors([descriptor], [governor.address]),
                                rpc=ledger.w3, document=DOCUMENT)

    for i, expected in ((0, "verified"), (1, "not-in-force")):
        open_page(browser, base_url)
        pin_node(browser, chain.url, tmp_path / "network.json")
        drop_files(browser, tmp_path / f"c{i}.json", tmp_path / "judgment.pdf", mode="browser")
        verdict = browser.find_element(By.ID, "verdict")
        assert verdict.get_attribute("data-verdict") == expected, verdict.text
        sent = posts(browser)
        assert sent and all(url.rstrip("/") == chain.url.rstrip("/") for url, _ in sent), sent  # only the node
        assert all("signed judgment" not in body for _, body in sent)
        if expected == "verified":
            assert [name for name, _, _ in steps(browser)] == [s.name for s in python.steps]
        else:
            assert verdict.get_attribute("data-state") == "set_aside"
            assert browser.find_element(By.CSS_SELECTOR, '[data-answer="in_force"]').text == "NOT in force: set aside"
