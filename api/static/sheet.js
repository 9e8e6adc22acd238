/*
 * The printable verification sheet of one record: /verify/sheet.html#case=…&digest=…&record=…[&court=…].
 * It asks the look-up anew (so "status now" and the verdict time are the time of printing) and shows the
 * record id, court and jurisdiction, the case number as typed, the document's SHA-256, the recording time,
 * the status now, the verdict and its time, and a QR code (qrcode-generator, vendored) of the /verify URL
 * that runs the same look-up by case number and fingerprint: meaningful without the file, and answered by
 * the chain's state when scanned, not by what the paper says.
 * Why qrcode-generator (MIT, no dependencies, one file) in the browser rather than segno on the server: the
 * sheet is built from the page's own files like the rest of /verify, needs no route that renders images,
 * and the URL it encodes (with the case number) is never sent to the service.
 */
(function () {
  "use strict";

  var I18n = window.VerifyI18n;
  var Lookup = window.VerifyLookup;
  var t = I18n.t;
  var state = {linked: null, result: null};

  function $(id) { return document.getElementById(id); }

  function fact(list, label, value, name, code) {
    var dt = document.createElement("dt");
    dt.textContent = label;
    var dd = document.createElement("dd");
    dd.setAttribute("data-fact", name);
    var inner = code ? document.createElement("code") : dd;
    inner.textContent = value === undefined || value === null || value === "" ? "—" : value;
    if (code) { dd.appendChild(inner); }
    list.appendChild(dt);
    list.appendChild(dd);
  }

  function qr(url) {
    var code = window.qrcode(0, "M");
    code.addData(url);
    code.make();
    var box = $("sheet-qr");
    box.innerHTML = code.createSvgTag({cellSize: 4, scalable: true});  // margin: 4 modules, as the standard asks
    $("sheet-url").textContent = url;
  }

  function render() {
    var sheet = $("sheet");
    var facts = $("sheet-facts");
    while (facts.firstChild) { facts.removeChild(facts.firstChild); }
    var linked = state.linked;
    if (!linked || !linked.record) {
      sheet.setAttribute("data-verdict", "error");
      $("sheet-verdict").textContent = t("error_title");
      $("sheet-summary").textContent = t("sheet_missing");
      sheet.setAttribute("aria-busy", "false");
      return;
    }
    var res = state.result;
    if (!res) { $("sheet-verdict").textContent = t("verifying"); return; }
    sheet.setAttribute("aria-busy", "false");
    if (res.error) {
      sheet.setAttribute("data-verdict", "error");
      $("sheet-verdict").textContent = t("error_title");
      $("sheet-summary").textContent = t("error_generic", {status: res.status, detail: res.detail});
      return;
    }
    var v = res.answer.verdict;
    var record = res.records.filter(function (r) {
      return r.record_id.toLowerCase() === linked.record.toLowerCase();
    })[0];
    sheet.setAttribute("data-verdict", v);
    $("sheet-verdict").textContent = t("verdict_" + v);
    $("sheet-summary").textContent = record ? t("verdict_" + v + "_summary") : t("sheet_record_gone");
    fact(facts, t("fact_record"), linked.record, "record", true);
    fact(facts, t("fact_court"), record && String(record.court), "court");
    fact(facts, t("fact_jurisdiction"), record && record.jurisdiction, "jurisdiction");
    fact(facts, t("fact_case_number"), linked["case"], "case_number");
    fact(facts, t("fact_document"), linked.digest, "document", true);
    fact(facts, t("fact_time"), record && Lookup.isoTime(record.recorded_at), "recorded_at");
    fact(facts, t("fact_status"), record && I18n.status(record.status), "status");
    fact(facts, t("fact_verdict"), t("verdict_" + v), "verdict");
    fact(facts, t("fact_verdict_time"), res.at.toISOString().replace(/\.\d{3}Z$/, "Z"), "verdict_time");
  }

  function start() {
    state.linked = Lookup.fromLocation(window.location);  // before the first render
    I18n.onChange(render);
    I18n.start();
    $("print-button").addEventListener("click", function () { window.print(); });
    if (!state.linked || !state.linked.record) { return; }
    var l = state.linked;
    qr(Lookup.verdictUrl(window.location.origin, l));
    Lookup.ask(l["case"], l.digest.replace(/^0x/, ""), l.court).then(function (result) {
      state.result = result;
    }, function (e) {
      state.result = {error: true, status: e.status || 0, detail: e.message};
    }).then(render);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
