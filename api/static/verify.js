/*
 * The public /verify page: a clerk drops a certificate (JSON) and, if they hold it, the document.
 * The document is hashed here with WebCrypto (SHA-256) and never sent. Two ways to check, both showing
 * each step and the two answers (authentic? in force?):
 * - in this browser (default): the page imports js/verifier (/verify/lib/index.js, the same code as the npm
 *   package) and checks the certificate against a node URL the clerk gives and a network descriptor the
 *   clerk pinned (file + governance address), trusting no server of ours;
 * - asking this service: it posts the certificate and the document's SHA-256 to
 *   POST /api/v1/verify/certificate, which checks against the service's own node.
 */
(function () {
  "use strict";

  var ENDPOINT = "/api/v1/verify/certificate";
  var STEP_ORDER = ["format", "network", "signature", "case_number", "dossier", "proof", "document", "chain", "signer",
    "record", "dossier_chain", "status"];
  var VERIFIER = "/verify/lib/index.js";

  var I18n = window.VerifyI18n;
  var t = I18n.t;

  var state = {
    certificate: null,      // the parsed certificate object
    certificateFile: null,  // {name} or {name, error}
    documentFile: null,     // {name, size, sha256, hashing, error}
    outcome: null,          // {type: "verified"|"failed"|"error", ...}
    mode: "browser",        // "browser" (js/verifier against an RPC URL) or "service"
    descriptor: null,       // the pinned descriptor (parsed) for browser mode
    busy: false
  };

  function $(id) { return document.getElementById(id); }


  function stepName(name) {
    var key = "step_" + name;
    return I18n.has(key) ? t(key) : name;
  }

  function kindName(kind) {
    return I18n.has("kind_" + kind) ? t("kind_" + kind) : kind;
  }


  // -- rendering ----------------------------------------------------------------------------------

  function applyLanguage() {
    renderFiles();
    renderOutcome();
  }

  function renderFiles() {
    var c = state.certificateFile;
    var cStatus = $("certificate-status");
    cStatus.className = "file-status";
    if (!c) {
      cStatus.textContent = "";
    } else if (c.error) {
      cStatus.textContent = t("cert_invalid", {name: c.name, reason: c.error === "not_object" ? t("cert_not_object") : c.error});
      cStatus.className = "file-status bad";
    } else {
      cStatus.textContent = t("cert_loaded", {name: c.name, kind: kindName(state.certificate.kind)});
      cStatus.className = "file-status good";
    }
    $("certificate-drop").classList.toggle("filled", !!(c && !c.error));

    var d = state.documentFile;
    var dStatus = $("document-status");
    $("document-digest").hidden = true;
    var said = window.fingerprint.describe(d);
    dStatus.textContent = said.text;
    dStatus.className = "file-status " + said.tone;
    if (d && d.sha256) {
      $("document-sha256").textContent = d.sha256;
      $("document-digest").hidden = false;
    }
    $("document-drop").classList.toggle("filled", !!(d && d.sha256));
    $("verify-button").disabled = state.busy || !state.certificate || !!(d && d.hashing);
  }

  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
  }

  function addFact(list, label, value, code) {
    if (value === undefined || value === null || value === "") { return; }
    var dt = document.createElement("dt");
    dt.textContent = label;
    var dd = document.createElement("dd");
    if (code) {
      var c = document.createElement("code");
      c.textContent = value;
      dd.appendChild(c);
    } else {
      dd.textContent = value;
    }
    list.appendChild(dt);
    list.appendChild(dd);
  }

  var stateText = I18n.status;

  function addStep(list, name, ok, detail) {
    var li = document.createElement("li");
    li.className = "step " + (ok === true ? "ok" : ok === false ? "fail" : "skipped");
    li.setAttribute("data-step", name);
    li.setAttribute("data-ok", ok === true ? "true" : ok === false ? "false" : "skipped");
    var icon = document.createElement("span");
    icon.className = "icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = ok === true ? "✓" : ok === false ? "✗" : "–";
    var label = document.createElement("span");
    label.className = "name";
    label.textContent = stepName(name);
    var sr = document.createElement("span");
    sr.className = "visually-hidden";
    sr.textContent = ": " + (ok === true ? t("passed") : ok === false ? t("failed") : t("not_checked"));
    li.appendChild(icon);
    li.appendChild(label);
    li.appendChild(sr);
    var text = ok === null ? t("not_checked") : stepDetail(name, ok, detail);
    if (text) {
      var p = document.createElement("span");
      p.className = "detail";
      p.textContent = text;
      li.appendChild(p);
    }
    list.appendChild(li);
  }

  /** The verifier's own detail in English; elsewhere the page's text for this step and outcome. */
  function stepDetail(name, ok, detail) {
    var key = (ok ? "step_ok_" : "step_fail_") + name;
    if (I18n.lang() === "en" || !I18n.has(key)) { return detail; }
    return t(key);
  }

  function expectedSteps(kind, withDocument, withDossier) {
    return STEP_ORDER.filter(function (name) {
      if (name === "proof") { return kind === "notarized_digest"; }
      if (name === "dossier" || name === "dossier_chain") { return withDossier; }
      if (name === "case_number") { return false; }
      if (name === "document") { return withDocument; }
      return true;
    });
  }

  function yesNo(value) { return value ? t("answer_yes") : t("answer_no"); }

  /** A judgment's effect and enforceability in the State of origin (online answers only). */
  function addEffect(facts, status) {
    if (!("enforceable" in status)) { return; }
    addFact(facts, t("fact_effective_since"), status.effective_since);
    addFact(facts, t("fact_appeal"), yesNo(status.appeal_pending));
    addFact(facts, t("fact_stayed"), yesNo(status.stayed));
    addFact(facts, t("fact_enforceable"), yesNo(status.enforceable));
    facts.lastChild.setAttribute("data-fact", "enforceable");
  }

  /** The dossier (Hague 2019 art. 12): version, complete copy, proof of service, translations. */
  function addDossier(facts, dossier, status) {
    var version = String(dossier.sequence);
    if (status.dossier && status.dossier.later_versions > 0) {
      version += " — " + t("dossier_later", {later: status.dossier.later_versions});
    }
    addFact(facts, t("fact_dossier"), version);
    facts.lastChild.setAttribute("data-fact", "dossier");
    addFact(facts, t("fact_complete_copy"), dossier.complete_copy, true);
    var service = dossier.proof_of_service;
    addFact(facts, t("fact_proof_of_service"), service.present ? service.digest : t("not_required"), service.present);
    addFact(facts, t("fact_translations"), dossier.translations.map(function (x) { return x.language; }).join(", ") ||
      "—");
    facts.lastChild.setAttribute("data-fact", "translations");
  }

  function renderOutcome() {
    var section = $("verdict");
    var o = state.outcome;
    section.setAttribute("aria-busy", state.busy ? "true" : "false");
    section.removeAttribute("data-verdict");
    section.removeAttribute("data-failed-step");
    if (!o && !state.busy) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    var title = $("verdict-title");
    var summary = $("verdict-summary");
    var facts = $("verdict-facts");
    var steps = $("steps");
    clear(facts);
    clear(steps);
    section.className = "verdict";
    if (state.busy) {
      title.textContent = t("verifying");
      summary.textContent = "";
      return;
    }
    var cert = o.certificate || {};
    if (o.type === "verified") {
      var r = o.result;
      var inForce = r.in_force === true;
      section.className = "verdict " + (inForce ? "verified" : "not-in-force");
      section.setAttribute("data-verdict", inForce ? "verified" : "not-in-force");
      section.setAttribute("data-in-force", String(r.in_force));
      section.setAttribute("data-state", r.state || "");
      title.textContent = inForce ? t("in_force_title") : t("not_in_force_title", {state: stateText(r.state)});
      summary.textContent = (inForce ? "" : t("not_in_force_summary") + " ") +
        (o.rpc ? t("checked_in_browser", {rpc: o.rpc}) : t("checked_by_service")) + " " +
        (o.documentSha256 ? t("verified_with_document") : t("verified_without_document"));
      var answers = document.createElement("p");
      answers.className = "answers";
      answers.id = "answers";
      [[r.authentic ? "yes" : "no", r.authentic ? t("authentic_yes") : t("authentic_no"), "authentic"],
        [inForce ? "yes" : "no", inForce ? t("in_force_yes") : t("in_force_no", {state: stateText(r.state)}),
          "in_force"]].forEach(function (a) {
        var span = document.createElement("span");
        span.className = "answer " + a[0];
        span.setAttribute("data-answer", a[2]);
        span.textContent = a[1];
        answers.appendChild(span);
      });
      facts.appendChild(answers);
      addFact(facts, t("fact_kind"), kindName(r.kind));
      addFact(facts, t("fact_status"), stateText(r.state));
      addFact(facts, t("fact_court"), cert.record && cert.record.court);
      addFact(facts, t("fact_record"), r.record_id, true);
      addFact(facts, t("fact_network"), r.network);
      if (cert.transaction) {
        addFact(facts, t("fact_time"), new Date(cert.transaction.block_time * 1000).toISOString().replace(".000Z", "Z"));
        addFact(facts, t("fact_transaction"), cert.transaction.hash, true);
      }
      addFact(facts, t("fact_document"), o.documentSha256, true);
      addEffect(facts, r.status || {});
      if (r.dossier) { addDossier(facts, r.dossier, r.status || {}); }
      (r.steps || []).forEach(function (s) { addStep(steps, s.name, true, s.detail); });
    } else if (o.type === "failed") {
      var p = o.problem;
      var mismatch = p.step === "document";
      section.className = "verdict failed";
      section.setAttribute("data-verdict", "failed");
      section.setAttribute("data-failed-step", p.step);
      title.textContent = mismatch ? t("mismatch_title") : t("failed_title", {step: stepName(p.step)});
      summary.textContent = mismatch ? t("mismatch_summary") : t("failed_summary");
      addFact(facts, t("fact_kind"), cert.kind ? kindName(cert.kind) : "");
      addFact(facts, t("fact_record"), cert.record_id, true);
      addFact(facts, t("fact_document"), o.documentSha256, true);
      var passed = p.steps || [];
      var seen = {};
      passed.forEach(function (s) { seen[s.name] = true; addStep(steps, s.name, true, s.detail); });
      addStep(steps, p.step, false, p.reason || p.detail);
      seen[p.step] = true;
      var failedAt = STEP_ORDER.indexOf(p.step);
      expectedSteps(cert.kind, !!o.documentSha256, !!cert.dossier).forEach(function (name) {
        if (!seen[name] && STEP_ORDER.indexOf(name) > failedAt) {
          addStep(steps, name, null, "");
        }
      });
    } else {
      section.className = "verdict error";
      section.setAttribute("data-verdict", "error");
      title.textContent = t("error_title");
      summary.textContent = o.message ? o.message : o.status === 429 ? t("error_rate") : o.status === 0
        ? t("error_network") : t("error_generic", {status: o.status, detail: o.detail || ""});
    }
  }

  // -- files --------------------------------------------------------------------------------------

  function loadCertificate(file) {
    state.outcome = null;
    state.certificate = null;
    state.certificateFile = {name: file.name};
    file.text().then(function (text) {
      var parsed;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        state.certificateFile = {name: file.name, error: e.message};
        return;
      }
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        state.certificateFile = {name: file.name, error: "not_object"};
        return;
      }
      state.certificate = parsed;
    }, function (e) {
      state.certificateFile = {name: file.name, error: String(e && e.message || e)};
    }).then(function () {
      renderFiles();
      renderOutcome();
    });
  }

  function loadDocument(file) {
    state.outcome = null;
    state.documentFile = window.fingerprint(file, function (entry) {
      if (state.documentFile === entry) { renderFiles(); }
    });
    renderFiles();
    renderOutcome();
  }

  function wireDrop(zone, input, load) {
    input.addEventListener("change", function () {
      if (input.files && input.files[0]) { load(input.files[0]); }
    });
    zone.addEventListener("dragover", function (e) {
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("over");
      if (e.dataTransfer.files && e.dataTransfer.files[0]) { load(e.dataTransfer.files[0]); }
    });
  }

  // -- verification -------------------------------------------------------------------------------

  function finish(outcome) {
    state.busy = false;
    state.outcome = outcome;
    renderFiles();
    renderOutcome();
    $("verdict-title").focus();
  }

  function verifyInBrowser(cert, doc) {
    var rpc = $("rpc-input").value.trim();
    var governor = $("governor-input").value.trim();
    if (!rpc || !governor || !state.descriptor) {
      finish({type: "error", message: t("settings_missing")});
      return;
    }
    try {
      window.localStorage.setItem("verify.rpc", rpc);
      window.localStorage.setItem("verify.governor", governor);
    } catch (e) { /* storage may be disabled */ }
    import(VERIFIER).then(function (verifier) {
      var trusted;
      try {
        trusted = verifier.trustDescriptors([state.descriptor], [governor]);
      } catch (e) {
        return {type: "error", message: t("descriptor_refused", {reason: e.message})};
      }
      return verifier.verifyCertificate(cert, {trusted: trusted, rpc: rpc, documentDigest: doc ? "0x" + doc : undefined})
        .then(function (result) {
          return {type: "verified", result: result, certificate: cert, documentSha256: doc, rpc: rpc};
        }, function (e) {
          if (e && typeof e.step === "string") {
            return {type: "failed", problem: {step: e.step, reason: e.reason, steps: e.steps}, certificate: cert,
              documentSha256: doc};
          }
          return {type: "error", message: t("error_network") + " (" + String(e && e.message || e) + ")"};
        });
    }).then(finish);
  }

  function verify(event) {
    event.preventDefault();
    if (!state.certificate || state.busy) { return; }
    var cert = state.certificate;
    var doc = state.documentFile && state.documentFile.sha256 ? state.documentFile.sha256 : null;
    if (state.mode === "browser") {
      state.busy = true;
      state.outcome = null;
      renderFiles();
      renderOutcome();
      verifyInBrowser(cert, doc);
      return;
    }
    var body = {certificate: cert};
    if (doc) { body.document_sha256 = doc; }
    state.busy = true;
    state.outcome = null;
    renderFiles();
    renderOutcome();
    fetch(ENDPOINT, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json, application/problem+json"},
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok && data.verified === true) {
          return {type: "verified", result: data, certificate: cert, documentSha256: doc};
        }
        if (data && typeof data.step === "string") {
          return {type: "failed", problem: data, certificate: cert, documentSha256: doc};
        }
        return {type: "error", status: response.status, detail: data.detail || data.title || ""};
      });
    }, function () {
      return {type: "error", status: 0};
    }).then(finish);
  }

  function reset() {
    state.certificate = null;
    state.certificateFile = null;
    state.documentFile = null;
    state.outcome = null;
    // the form's own reset clears the inputs; render after it has run
    window.setTimeout(function () {
      state.mode = $("mode-service").checked ? "service" : "browser";
      $("browser-settings").hidden = state.mode !== "browser";
      renderFiles();
      renderOutcome();
    }, 0);
  }

  function loadDescriptor(file) {
    file.text().then(function (text) {
      var parsed = JSON.parse(text);
      state.descriptor = parsed && parsed.descriptor ? parsed.descriptor : parsed;  // a descriptor, or {descriptor, ...}
      if (parsed && parsed.governor_pinned && !$("governor-input").value) {
        $("governor-input").value = parsed.governor_pinned;
      }
    }).catch(function () { state.descriptor = null; });
  }

  function setMode(mode) {
    state.mode = mode;
    $("browser-settings").hidden = mode !== "browser";
    state.outcome = null;
    renderOutcome();
  }

  function start() {
    try {
      $("rpc-input").value = window.localStorage.getItem("verify.rpc") || "";
      $("governor-input").value = window.localStorage.getItem("verify.governor") || "";
    } catch (e) { /* storage may be disabled */ }
    $("descriptor-input").addEventListener("change", function () {
      if (this.files && this.files[0]) { loadDescriptor(this.files[0]); }
    });
    $("mode-browser").addEventListener("change", function () { setMode("browser"); });
    $("mode-service").addEventListener("change", function () { setMode("service"); });
    setMode($("mode-service").checked ? "service" : "browser");
    wireDrop($("certificate-drop"), $("certificate-input"), loadCertificate);
    wireDrop($("document-drop"), $("document-input"), loadDocument);
    // A file dropped beside the zones must not make the browser navigate away from the page.
    window.addEventListener("dragover", function (e) { e.preventDefault(); });
    window.addEventListener("drop", function (e) { e.preventDefault(); });
    $("verify-form").addEventListener("submit", verify);
    $("verify-form").addEventListener("reset", reset);
    I18n.onChange(applyLanguage);
    I18n.start();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
