/*
 * Verify from the document, on /verify: the clerk drops the judgment (hashed here with WebCrypto SHA-256;
 * the file never leaves the browser) and types the case number, optionally the expected court. The
 * service's look-up answers verified / conflict / court_mismatch / does_not_match / not_on_chain; the
 * verdict lists every record it names with court, jurisdiction, recording time and status, each with a
 * printable verification sheet. Opened as /verify/#case=…&digest=…[&record=…] (the sheet's QR code), the
 * page runs that look-up by itself, with the fingerprint from the link and no file.
 */
(function () {
  "use strict";

  var I18n = window.VerifyI18n;
  var Lookup = window.VerifyLookup;
  var t = I18n.t;

  var state = {
    doc: null,       // {name, size, sha256, hashing, error} or {fromLink: true, sha256}
    focus: null,     // the record id the link names
    asked: null,     // {case, digest, court} of the answer shown
    result: null,    // VerifyLookup.ask's answer, or {error}
    busy: false
  };

  function $(id) { return document.getElementById(id); }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function renderDocument() {
    var d = state.doc;
    var status = $("lookup-document-status");
    $("lookup-digest").hidden = !(d && d.sha256);
    $("lookup-sha256").textContent = d && d.sha256 ? d.sha256 : "";
    var said = d && d.fromLink ? {text: t("lookup_from_link", {digest: d.sha256.slice(0, 16) + "…"}), tone: "good"}
      : window.fingerprint.describe(d);
    status.textContent = said.text;
    status.className = "file-status " + said.tone;
    $("lookup-drop").classList.toggle("filled", !!(d && d.sha256));
    $("lookup-button").disabled = state.busy || !!(d && d.hashing);
  }

  function fact(list, label, value, code, name) {
    if (value === undefined || value === null || value === "") { return; }
    var dt = document.createElement("dt");
    dt.textContent = label;
    var dd = document.createElement("dd");
    if (name) { dd.setAttribute("data-fact", name); }
    var inner = code ? document.createElement("code") : dd;
    inner.textContent = value;
    if (code) { dd.appendChild(inner); }
    list.appendChild(dt);
    list.appendChild(dd);
  }

  function renderRecord(list, r, verdict) {
    var li = document.createElement("li");
    li.className = "record" + (state.focus && state.focus.toLowerCase() === r.record_id.toLowerCase() ? " focus" : "");
    li.setAttribute("data-record", r.record_id);
    var dl = document.createElement("dl");
    dl.className = "facts";
    fact(dl, t("fact_record"), r.record_id, true, "record");
    fact(dl, t("fact_court"), String(r.court), false, "court");
    fact(dl, t("fact_jurisdiction"), r.jurisdiction, false, "jurisdiction");
    fact(dl, t("fact_time"), Lookup.isoTime(r.recorded_at), false, "recorded_at");
    fact(dl, t("fact_status"), I18n.status(r.status), false, "status");
    fact(dl, t("fact_superseded_by"), r.superseded_by, true, "superseded_by");
    if (verdict === "conflict") {
      var carries = [];
      if (r.case_number_matches) { carries.push(t("match_case_number")); }
      if (r.document_matches) { carries.push(t("match_document")); }
      fact(dl, t("fact_matches"), carries.join(" · "), false, "matches");
    }
    li.appendChild(dl);
    var a = document.createElement("a");
    a.className = "sheet-link";
    a.href = Lookup.sheetUrl({"case": state.asked["case"], digest: state.asked.digest, record: r.record_id,
      court: state.asked.court});
    a.target = "_blank";
    a.rel = "noopener";
    a.textContent = t("print_sheet");
    li.appendChild(a);
    list.appendChild(li);
  }

  function renderVerdict() {
    var section = $("lookup-verdict");
    var title = $("lookup-title");
    var summary = $("lookup-summary");
    var list = $("lookup-records");
    clear(list);
    section.removeAttribute("data-verdict");
    section.setAttribute("aria-busy", String(state.busy));
    if (!state.result && !state.busy) { section.hidden = true; return; }
    section.hidden = false;
    section.className = "verdict";
    if (state.busy) { title.textContent = t("verifying"); summary.textContent = ""; return; }
    var res = state.result;
    if (res.error) {
      section.className = "verdict error";
      section.setAttribute("data-verdict", "error");
      title.textContent = t("error_title");
      summary.textContent = res.message || (res.status === 429 ? t("error_rate") : !res.status ? t("error_network")
        : t("error_generic", {status: res.status, detail: res.detail}));
      return;
    }
    var v = res.answer.verdict;
    section.className = "verdict " + ({verified: "verified", conflict: "not-in-force"}[v] || "failed");
    section.setAttribute("data-verdict", v);
    title.textContent = t("verdict_" + v);
    summary.textContent = t("verdict_" + v + "_summary");
    res.records.forEach(function (r) { renderRecord(list, r, v); });
  }

  function loadDocument(file) {
    state.result = null;
    state.doc = window.fingerprint(file, function (entry) {
      if (state.doc === entry) { render(); }
    });
    render();
  }

  function lookUp(event) {
    if (event) { event.preventDefault(); }
    var caseNumber = $("case-number").value.trim();
    var court = $("expected-court").value.trim();
    if (state.busy) { return; }
    if (!caseNumber || !state.doc || !state.doc.sha256) {
      state.result = {error: true, message: t("lookup_need")};
      render();
      return;
    }
    if (court && !/^[1-9][0-9]{0,9}$/.test(court)) {
      state.result = {error: true, message: t("lookup_bad_court")};
      render();
      return;
    }
    state.asked = {"case": caseNumber, digest: state.doc.sha256, court: court || undefined};
    state.busy = true;
    state.result = null;
    render();
    Lookup.ask(caseNumber, state.doc.sha256, court).then(function (result) {
      return result;
    }, function (e) {
      return {error: true, status: e.status || 0, detail: e.message};
    }).then(function (result) {
      state.busy = false;
      state.result = result;
      render();
      $("lookup-title").focus();
    });
  }

  function render() {
    renderDocument();
    renderVerdict();
  }

  function wire() {
    var zone = $("lookup-drop");
    var input = $("lookup-document");
    input.addEventListener("change", function () { if (input.files && input.files[0]) { loadDocument(input.files[0]); } });
    zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("over");
      if (e.dataTransfer.files && e.dataTransfer.files[0]) { loadDocument(e.dataTransfer.files[0]); }
    });
    $("lookup-form").addEventListener("submit", lookUp);
  }

  function start() {
    wire();
    I18n.onChange(render);
    I18n.start();
    var linked = Lookup.fromLocation(window.location);
    if (linked) {
      $("case-number").value = linked["case"];
      $("expected-court").value = linked.court || "";
      state.doc = {fromLink: true, sha256: linked.digest.replace(/^0x/, "").toLowerCase()};
      state.focus = linked.record || null;
      lookUp();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
