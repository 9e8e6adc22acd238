"""Verify from the document on /verify, the printable verification sheet and its QR code, the page's three
languages and its own Chinese font, in headless Chromium against the real service (uvicorn on loopback).

A foreign clerk holds a judgment and its case number, no certificate: the page hashes the file in the
browser and asks the look-up; the verdict names each record with court, jurisdiction, recording time and
status; the sheet prints on one page with a QR code whose URL runs the same look-up without the file.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import zxingcpp
from fontTools.ttLib import TTFont
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from api.services import RateLimiter
from scripts.build_fonts import FAMILY, is_cjk, page_characters
from tests.api._browser import chromium
from tests.api._live import live_server
from tests.api.conftest import judgment_body

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "api" / "static"
DOCUMENT = b"%PDF-1.7\n% judgment of the Haidian court, served abroad\n" + b"stream " * 3000 + b"\n%%EOF\n"
STEPS = ["format", "network", "signature", "case_number", "proof", "document", "chain", "signer", "record", "status"]


def texts() -> dict[str, dict[str, str]]:
    source = (STATIC / "texts.js").read_text(encoding="utf-8")
    return json.loads(source.split("window.VERIFY_TEXTS = ", 1)[1].rstrip().rstrip(";"))


# -- the page's files --------------------------------------------------------------------------------


def test_every_text_exists_in_chinese_english_and_french():
    all_texts = texts()
    assert set(all_texts) == {"zh", "en", "fr"}
    keys = set(all_texts["en"])
    for lang, table in all_texts.items():
        assert set(table) == keys, (lang, keys ^ set(table))
        for key, text in table.items():
            assert text.strip(), (lang, key)
            assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", all_texts["en"][key])), (lang, key)
    assert all(any(is_cjk(ch) for ch in text) for key, text in all_texts["zh"].items() if key != "sha256")
    for step in STEPS:  # the verifier's step messages, translated by step name and outcome
        assert {f"step_{step}", f"step_ok_{step}", f"step_fail_{step}"} <= keys or step == "case_number"
    for verdict in ("verified", "conflict", "court_mismatch", "does_not_match", "not_on_chain"):
        assert {f"verdict_{verdict}", f"verdict_{verdict}_summary"} <= keys


def test_every_data_i18n_key_of_the_pages_has_a_text():
    keys = set(texts()["en"])
    for page in ("index.html", "sheet.html"):
        used = set(re.findall(r'data-i18n="(\w+)"', (STATIC / page).read_text(encoding="utf-8")))
        assert used and used <= keys, (page, used - keys)


def test_every_cjk_character_the_page_uses_is_in_the_shipped_font_subset():
    font = TTFont(STATIC / "fonts" / "noto-sans-sc-subset.woff2")
    covered = {chr(c) for c in font.getBestCmap()}
    used = page_characters()
    assert "核" in used and "验" in used and len(used) > 100
    assert not used - covered, "run scripts/build_fonts.py: " + "".join(sorted(used - covered))
    css = (STATIC / "fonts" / "fonts.css").read_text(encoding="utf-8")
    assert f'font-family: "{FAMILY}"' in css and "noto-sans-sc-subset.woff2" in css
    assert f'"{FAMILY}"' in (STATIC / "style.css").read_text(encoding="utf-8")


def test_vendored_qrcode_generator_is_the_npm_packages_file():
    package = REPO / "node_modules" / "qrcode-generator"
    version = json.loads((package / "package.json").read_text())["version"]
    pinned = json.loads((REPO / "package.json").read_text())["devDependencies"]["qrcode-generator"]
    assert version == pinned == "2.0.4"
    vendored = STATIC / "vendor" / "qrcode-generator"
    assert (vendored / "qrcode.js").read_bytes() == (package / "dist" / "qrcode.js").read_bytes()
    assert "MIT" in (vendored / "LICENSE").read_text()


# -- the browser ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_url(services) -> Iterator[str]:
    limiter = services.rate_limiter
    services.rate_limiter = RateLimiter(1000.0, 1000)  # the page asks once per record for its recording time
    with live_server(services) as url:
        yield url
    services.rate_limiter = limiter


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def judgment(services, court, tmp_path_factory) -> dict[str, Any]:
    """A judgment recorded through the API, the document file the clerk holds and the block's time."""
    body = judgment_body(document_sha256=hashlib.sha256(DOCUMENT).hexdigest())
    record = court.api.confirmed(court.api.post("/api/v1/judgments", body))
    services.wait_indexed(record["block_number"])
    path = tmp_path_factory.mktemp("clerk") / "judgment.pdf"
    path.write_bytes(DOCUMENT)
    block = services.ledger.w3.eth.get_block(record["block_number"])
    return {"body": body, "record": record, "path": path, "court": court.court_id,
            "recorded_at": int(block["timestamp"])}


def open_page(driver: Any, url: str) -> None:
    driver.get(url)
    driver.execute_script("window.localStorage.clear()")
    driver.get("about:blank")
    driver.get(url)
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "lang-en").get_attribute("aria-pressed"))


def look_up(driver: Any, base_url: str, case_number: str, document: Path, court: int | None = None) -> Any:
    open_page(driver, base_url + "/verify/")
    driver.get_log("performance")  # drop the page load's events
    driver.find_element(By.ID, "lookup-document").send_keys(str(document))
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "lookup-sha256").text)
    driver.find_element(By.ID, "case-number").send_keys(case_number)
    if court is not None:
        driver.find_element(By.ID, "expected-court").send_keys(str(court))
    driver.find_element(By.ID, "lookup-button").click()
    return wait_verdict(driver, "lookup-verdict")


def wait_verdict(driver: Any, element_id: str) -> Any:
    WebDriverWait(driver, 30).until(
        lambda d: d.find_element(By.ID, element_id).get_attribute("data-verdict") not in (None, ""))
    return driver.find_element(By.ID, element_id)


def shown_records(driver: Any) -> dict[str, dict[str, str]]:
    out = {}
    for li in driver.find_elements(By.CSS_SELECTOR, "#lookup-records li"):
        facts = {dd.get_attribute("data-fact"): dd.text for dd in li.find_elements(By.CSS_SELECTOR, "dd")}
        facts["focus"] = "focus" in li.get_attribute("class").split()
        out[li.get_attribute("data-record")] = facts
    return out


def requests_sent(driver: Any) -> list[tuple[str, str, str]]:
    """(method, url, body) of every request the page made, from Chromium's network log."""
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            request = message["params"]["request"]
            out.append((request["method"], request["url"], request.get("postData", "")))
    return out


def iso(seconds: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_clerk_verifies_from_the_document_prints_the_sheet_and_its_qr_code_opens_the_same_verdict(
    browser, base_url, judgment
):
    body, record = judgment["body"], judgment["record"]
    verdict = look_up(browser, base_url, body["case_number"], judgment["path"])
    assert verdict.get_attribute("data-verdict") == "verified", verdict.text
    assert browser.find_element(By.ID, "lookup-title").text == "✓ On record: this document under this case number"
    shown = shown_records(browser)
    assert list(shown) == [record["record_id"]]
    facts = shown[record["record_id"]]
    assert facts["court"] == str(judgment["court"]) and facts["jurisdiction"] == "CN-BJ"
    assert facts["status"] == "effective" and facts["recorded_at"] == iso(judgment["recorded_at"])

    # the document stayed in the browser: one look-up carrying the case number and the SHA-256, nothing else
    sent = requests_sent(browser)
    posts = [(url, data) for method, url, data in sent if method == "POST"]
    assert [urlsplit(url).path for url, _ in posts] == ["/api/v1/verify/lookup"], posts
    assert json.loads(posts[0][1]) == {"case_number": body["case_number"],
                                       "document_sha256": hashlib.sha256(DOCUMENT).hexdigest()}
    assert all("Haidian court" not in data and "stream stream" not in data for _, _, data in sent)

    # the sheet of this record
    link = browser.find_element(By.CSS_SELECTOR, f'[data-record="{record["record_id"]}"] a.sheet-link')
    browser.get(link.get_attribute("href"))
    sheet = wait_verdict(browser, "sheet")
    assert sheet.get_attribute("data-verdict") == "verified", sheet.text
    printed = {dd.get_attribute("data-fact"): dd.text for dd in browser.find_elements(By.CSS_SELECTOR, "#sheet dd")}
    assert printed["record"] == record["record_id"]
    assert printed["court"] == str(judgment["court"]) and printed["jurisdiction"] == "CN-BJ"
    assert printed["case_number"] == body["case_number"]
    assert printed["document"] == hashlib.sha256(DOCUMENT).hexdigest()
    assert printed["recorded_at"] == iso(judgment["recorded_at"]) and printed["status"] == "effective"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", printed["verdict_time"])

    pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"])
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1  # one page

    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not browser.find_element(By.ID, "print-button").is_displayed()  # the print view has no buttons
        png = browser.get_screenshot_as_png()
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    # QR codes only: a linear-barcode reader may take a run of printed strokes for a barcode
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(codes) == 1 and codes[0].format == zxingcpp.BarcodeFormat.QRCode
    url = codes[0].text
    assert url == browser.find_element(By.ID, "sheet-url").text
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == base_url and parts.path == "/verify/" and not parts.query
    carried = dict(pair.split("=", 1) for pair in parts.fragment.split("&"))
    assert unquote(carried["case"]) == body["case_number"]
    assert carried["digest"] == hashlib.sha256(DOCUMENT).hexdigest() and carried["record"] == record["record_id"]

    # scanned: the page answers the URL by itself, without the file, with the same verdict for the same record
    open_page(browser, url)
    again = wait_verdict(browser, "lookup-verdict")
    assert again.get_attribute("data-verdict") == "verified"
    assert shown_records(browser) == {record["record_id"]: {**facts, "focus": True}}
    assert browser.find_element(By.ID, "case-number").get_attribute("value") == body["case_number"]


def test_a_tampered_copy_does_not_match(browser, base_url, judgment, tmp_path):
    tampered = tmp_path / "copy.pdf"
    tampered.write_bytes(DOCUMENT.replace(b"Haidian", b"Haidiam"))
    verdict = look_up(browser, base_url, judgment["body"]["case_number"], tampered)
    assert verdict.get_attribute("data-verdict") == "does_not_match"
    assert browser.find_element(By.ID, "lookup-title").text == "✗ The document does not match"
    assert shown_records(browser) == {}


def test_a_case_number_never_recorded_is_not_on_chain(browser, base_url, tmp_path):
    unknown = tmp_path / "unknown.pdf"
    unknown.write_bytes(b"a judgment nobody recorded")
    verdict = look_up(browser, base_url, "(2020)京0108民初99999号", unknown)
    assert verdict.get_attribute("data-verdict") == "not_on_chain"
    assert browser.find_element(By.ID, "lookup-title").text == "✗ Not on record"


def test_another_expected_court_gets_court_mismatch_naming_the_recording_court(browser, base_url, judgment):
    verdict = look_up(browser, base_url, judgment["body"]["case_number"], judgment["path"],
                      court=judgment["court"] + 1)
    assert verdict.get_attribute("data-verdict") == "court_mismatch"
    assert browser.find_element(By.ID, "lookup-title").text == "✗ On record, but not by the expected court"
    (facts,) = shown_records(browser).values()
    assert facts["court"] == str(judgment["court"])


def test_court_copying_another_courts_judgment_shows_a_conflict_listing_both_records(
    browser, base_url, services, court, other_court, tmp_path
):
    document = tmp_path / "contested.pdf"
    document.write_bytes(b"%PDF-1.7\n% a judgment two courts claim\n")
    body = judgment_body(document_sha256=hashlib.sha256(document.read_bytes()).hexdigest())
    mine = court.api.confirmed(court.api.post("/api/v1/judgments", body))
    copy = other_court.api.confirmed(other_court.api.post("/api/v1/judgments", body))
    services.wait_indexed(max(mine["block_number"], copy["block_number"]))

    verdict = look_up(browser, base_url, body["case_number"], document, court=court.court_id)
    assert verdict.get_attribute("data-verdict") == "conflict"  # never verified for one of them
    shown = shown_records(browser)
    assert set(shown) == {mine["record_id"], copy["record_id"]}
    assert {shown[mine["record_id"]]["court"], shown[copy["record_id"]]["court"]} == {
        str(court.court_id), str(other_court.court_id)}
    assert all(f["recorded_at"] and f["status"] == "effective" for f in shown.values())


def test_the_verdict_in_chinese_and_french(browser, base_url, judgment):
    look_up(browser, base_url, judgment["body"]["case_number"], judgment["path"])
    browser.find_element(By.ID, "lang-zh").click()
    assert browser.find_element(By.ID, "lookup-title").text == "✓ 已记录：此文书以此案号登记"
    assert browser.find_element(By.CSS_SELECTOR, "#lookup-records a.sheet-link").text == "核验单（打印）"
    assert shown_records(browser)[judgment["record"]["record_id"]]["status"] == "已生效"
    browser.find_element(By.ID, "lang-fr").click()
    assert browser.find_element(By.ID, "lookup-title").text == "✓ Inscrit : ce document sous ce numéro d'affaire"
    assert shown_records(browser)[judgment["record"]["record_id"]]["status"] == "exécutoire"


# -- Chinese on a machine without CJK fonts ------------------------------------------------------------


@pytest.fixture(scope="module")
def latin_only(tmp_path_factory) -> dict[str, str]:
    """A fontconfig that shows the browser one folder of Latin fonts (DejaVu or Liberation) and no CJK font."""
    fc_match = shutil.which("fc-match")
    assert fc_match, "fontconfig's fc-match is needed"
    found = [subprocess.run([fc_match, "-f", "%{file}", family], capture_output=True, text=True).stdout
             for family in ("DejaVu Sans", "Liberation Sans")]
    latin = next((f for f in found if "DejaVu" in f or "Liberation" in f), None)
    assert latin, f"no DejaVu or Liberation font to show the browser: {found}"
    folder = tmp_path_factory.mktemp("fontconfig")
    (folder / "fonts.conf").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"  <dir>{Path(latin).parent}</dir>\n  <cachedir>{folder / 'cache'}</cachedir>\n</fontconfig>\n"
    )
    env = {"FONTCONFIG_FILE": str(folder / "fonts.conf")}
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, env={**env, "PATH": "/usr/bin"})
    assert listed.returncode == 0 and listed.stdout.strip() == "", listed.stdout  # no CJK font visible
    return env


GLYPHS = "核验司法记录"


def glyph_images(driver: Any, family: str) -> list[bytes]:
    """One screenshot per character of GLYPHS, drawn 48px in ``family`` only."""
    driver.execute_script(
        "const box = document.createElement('div'); box.id = 'glyphs';"
        "box.style.cssText = 'position:fixed;top:0;left:0;z-index:99;background:#fff;color:#000;font-size:48px;"
        "line-height:1;font-family:' + arguments[0];"
        "for (const ch of arguments[1]) { const s = document.createElement('span'); s.textContent = ch;"
        "  s.style.cssText = 'display:inline-block;width:64px;height:64px;'; box.appendChild(s); }"
        "document.getElementById('glyphs')?.remove(); document.body.appendChild(box);",
        family, GLYPHS,
    )
    return [span.screenshot_as_png for span in driver.find_elements(By.CSS_SELECTOR, "#glyphs span")]


def test_the_page_renders_chinese_with_its_own_font_where_the_machine_has_no_cjk_font(base_url, latin_only):
    with chromium(env=latin_only) as driver:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
            "source": "Object.defineProperty(navigator, 'languages', {get: () => ['zh-CN']});"})
        open_page(driver, base_url + "/verify/")
        assert driver.find_element(By.TAG_NAME, "h1").text == GLYPHS
        driver.execute_async_script("document.fonts.ready.then(arguments[0])")
        assert driver.execute_script(
            "return [...document.fonts].filter(f => f.family.replace(/\"/g, '') === arguments[0])"
            ".map(f => f.status)", FAMILY) == ["loaded"]
        assert driver.execute_script(f"return document.fonts.check('48px \"{FAMILY}\"', arguments[0])", GLYPHS)

        own = glyph_images(driver, f'"{FAMILY}"')
        bare = glyph_images(driver, "sans-serif")  # what the machine alone draws
        assert len(set(own)) == len(GLYPHS), "each character has its own glyph in the page's font"
        assert len(set(bare)) == 1, "the machine alone draws every character as the same box (no CJK font)"
        assert not set(own) & set(bare)

        heading = driver.find_element(By.TAG_NAME, "h1")
        with_font = heading.screenshot_as_png
        driver.execute_script("arguments[0].style.fontFamily = 'sans-serif'", heading)
        assert heading.screenshot_as_png != with_font  # the heading is drawn with the page's font, not as boxes


def test_recording_time_of_a_block_not_made_yet_is_not_found(public, services):
    head = services.ledger.w3.eth.block_number
    made = public.get(f"/api/v1/verify/recorded/{head}")
    assert made.status_code == 200 and made.json()["block_time"] == services.ledger.w3.eth.get_block(head)["timestamp"]
    later = public.get(f"/api/v1/verify/recorded/{head + 1000}")
    assert later.status_code == 404 and "not made yet" in later.json()["detail"]
    assert public.get("/api/v1/verify/recorded/-1").status_code == 422


def test_a_sheet_address_without_its_look_up_says_what_is_missing(browser, base_url):
    open_page(browser, base_url + "/verify/sheet.html#case=x")
    sheet = wait_verdict(browser, "sheet")
    assert sheet.get_attribute("data-verdict") == "error"
    assert browser.find_element(By.ID, "sheet-summary").text == (
        "This sheet's address lacks the record id, the case number or the document fingerprint.")
    assert browser.find_element(By.ID, "sheet-qr").get_attribute("innerHTML") == ""  # no QR code of nothing
