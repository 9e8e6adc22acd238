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
  var STEP_ORDER = ["format", "network", "signature", "case_number", "proof", "document", "chain", "signer", "record",
    "status"];
  var VERIFIER = "/verify/lib/index.js";

  var STRINGS = {
    en: {
      page_title: "Verify a judicial certificate",
      skip: "Skip to the verification form",
      brand: "Judicial trust ledger",
      heading: "Verify a certificate",
      lead: "Check that a judgment, an enforcement case, a defaulter status or a notarized document is on the " +
        "judicial trust ledger, signed by a registered court, and unchanged.",
      privacy: "Your document never leaves this computer: the page computes its SHA-256 fingerprint in the " +
        "browser and sends only that fingerprint and the certificate.",
      certificate_label: "Certificate (JSON file)",
      certificate_hint: "Drop the certificate here, or choose the file.",
      document_label: "Document (optional)",
      document_hint: "If you hold the document the certificate speaks of (for example the signed judgment PDF), " +
        "drop it here to check it is the same file.",
      sha256: "SHA-256",
      verify: "Verify",
      reset: "Start again",
      steps_heading: "Steps checked",
      about_summary: "What is checked, and how to check without this site",
      about_text: "In this browser, the page runs the open-source verifier (the same code as the npm package " +
        "@judicial-trust-ledger/verifier) against the node you name, trusting only the network descriptor you " +
        "pinned: the certificate's format, the trusted network, the court's signature, the case number, the " +
        "Merkle proof of a notarized digest, the document's fingerprint, the chain itself, that the signing key " +
        "was valid for the court when the block was made, that the transaction created this record, and whether " +
        "the record is in force today. Asking this service runs the same steps on its own node.",
      footer: "The document is only hashed on your computer.",
      mode_legend: "Where to check",
      mode_browser: "In this browser, against a node of the network (trusts no server of ours)",
      mode_service: "Ask this service (it checks against its own node)",
      rpc_label: "Node URL (JSON-RPC)",
      descriptor_label: "Pinned network descriptor (JSON file)",
      governor_label: "Pinned governance address",
      settings_missing: "To check in this browser, give the node URL, the pinned network descriptor and the " +
        "governance address that signed it.",
      descriptor_refused: "The network descriptor is refused: {reason}",
      authentic_yes: "Authentic",
      authentic_no: "Not authentic",
      in_force_yes: "In force",
      in_force_no: "NOT in force: {state}",
      in_force_title: "✓ Authentic · in force",
      not_in_force_title: "Authentic, but NOT in force: {state}",
      not_in_force_summary: "The record is genuine, written by a valid signer of the court, but it is no longer " +
        "in force. Do not rely on it as a current record.",
      checked_in_browser: "Checked in this browser against {rpc}.",
      checked_by_service: "Checked by this service against its own node.",
      step_case_number: "Case number",
      status_active: "active",
      status_pending: "not yet in force",
      status_removed: "removed",
      status_expired: "expired",
      status_not_yet_recorded: "not yet recorded",
      lang_button: "中文",
      lang_button_label: "切换到中文",
      lang_button_lang: "zh",
      cert_loaded: "Loaded {name}: {kind}.",
      cert_invalid: "{name} is not a certificate: {reason}",
      cert_not_object: "the file does not hold a JSON object",
      doc_hashing: "Computing the SHA-256 of {name} on this computer…",
      doc_hashed: "{name} ({size}): fingerprint computed on this computer. The file itself is not sent.",
      doc_failed: "Could not read {name}: {reason}",
      no_webcrypto: "This browser cannot compute SHA-256 on this page (WebCrypto needs HTTPS or localhost). " +
        "Verify without the document, or open the page over HTTPS.",
      verifying: "Verifying…",
      verified_title: "✓ Verified",
      verified_summary: "Every step passed, checked against the ledger's blockchain node.",
      verified_with_document: "The document you hold is the one certified.",
      verified_without_document: "No document was checked: add it to confirm it is the certified file.",
      failed_title: "✗ Not verified: failed at step “{step}”",
      mismatch_title: "✗ Not verified: the document does not match the certificate",
      mismatch_summary: "The file you hold is not the certified document (even a one-byte change alters its " +
        "fingerprint). The certificate itself passed the steps marked ✓.",
      failed_summary: "The certificate failed at the step marked ✗; steps after it were not checked.",
      error_title: "Could not verify",
      error_rate: "Too many verifications from this address. Wait a moment and try again.",
      error_network: "The verification service cannot be reached. Check the connection and try again.",
      error_generic: "The service answered {status}: {detail}",
      not_checked: "not checked",
      passed: "passed",
      failed: "failed",
      fact_kind: "Record",
      fact_court: "Court",
      fact_record: "Record id",
      fact_network: "Network",
      fact_status: "Status",
      fact_transaction: "Transaction",
      fact_time: "Recorded at",
      fact_document: "Document SHA-256",
      step_format: "Certificate format",
      step_network: "Trusted network",
      step_signature: "Court signature",
      step_proof: "Merkle proof",
      step_document: "Document fingerprint",
      step_chain: "Blockchain",
      step_signer: "Signing key registered",
      step_record: "Recorded on chain",
      step_status: "Current status",
      kind_judgment: "Judgment",
      kind_enforcement_case: "Enforcement case",
      kind_defaulter_status: "Dishonest-debtor listing",
      kind_notarized_digest: "Notarized document",
      status_effective: "effective",
      status_under_appeal: "under appeal",
      status_set_aside: "set aside",
      status_superseded: "superseded",
      status_satisfied: "satisfied",
      status_open: "open",
      status_terminated: "terminated for lack of assets",
      status_concluded: "concluded",
      status_restricted: "restricted",
      status_not_restricted: "not restricted",
      status_anchored: "anchored",
      bytes: "bytes"
    },
    zh: {
      page_title: "司法证书核验",
      skip: "跳到核验表单",
      brand: "司法信任账本",
      heading: "核验证书",
      lead: "核验一份判决、执行案件、失信被执行人名单状态或存证文件是否记录在司法信任账本上、是否由已登记的法院签名、" +
        "内容是否未被篡改。",
      privacy: "您的文书不会离开本机：页面在浏览器中计算文书的 SHA-256 指纹，只发送该指纹和证书。",
      certificate_label: "证书（JSON 文件）",
      certificate_hint: "将证书拖放到此处，或点击选择文件。",
      document_label: "文书（可选）",
      document_hint: "如您持有证书所指的文书（例如已签章的判决书 PDF），请拖放到此处，以核对是否为同一文件。",
      sha256: "SHA-256",
      verify: "核验",
      reset: "重新开始",
      steps_heading: "核验步骤",
      about_summary: "核验哪些内容，以及如何不经本网站自行核验",
      about_text: "在本浏览器中，页面运行开源核验程序（与 npm 包 @judicial-trust-ledger/verifier 相同的代码），对照您指定的节点，" +
        "只信任您固定的网络描述文件：证书格式、受信任网络、法院签名、案号、存证摘要的默克尔证明、文书指纹、区块链本身、" +
        "出块时签名密钥是否为该法院有效、交易是否创建了该记录，以及该记录今天是否仍然有效。由本服务核验时，在其自己的节点上执行相同步骤。",
      footer: "文书仅在您的电脑上计算指纹。",
      mode_legend: "核验方式",
      mode_browser: "在本浏览器中对照网络节点核验（无需信任本服务器）",
      mode_service: "由本服务核验（对照其自己的节点）",
      rpc_label: "节点地址（JSON-RPC）",
      descriptor_label: "固定的网络描述文件（JSON）",
      governor_label: "固定的治理地址",
      settings_missing: "如需在本浏览器中核验，请填写节点地址、固定的网络描述文件及签署该文件的治理地址。",
      descriptor_refused: "网络描述文件未被接受：{reason}",
      authentic_yes: "真实",
      authentic_no: "不真实",
      in_force_yes: "现行有效",
      in_force_no: "已不再有效：{state}",
      in_force_title: "✓ 真实 · 现行有效",
      not_in_force_title: "真实，但已不再有效：{state}",
      not_in_force_summary: "该记录真实，由法院的有效签名密钥写入，但已不再有效，不能作为现行记录使用。",
      checked_in_browser: "已在本浏览器中对照 {rpc} 核验。",
      checked_by_service: "由本服务对照其自己的节点核验。",
      step_case_number: "案号",
      status_active: "名单有效",
      status_pending: "尚未生效",
      status_removed: "已移除",
      status_expired: "已到期",
      status_not_yet_recorded: "尚未记录",
      lang_button: "English",
      lang_button_label: "Switch to English",
      lang_button_lang: "en",
      cert_loaded: "已载入 {name}：{kind}。",
      cert_invalid: "{name} 不是证书：{reason}",
      cert_not_object: "文件内容不是 JSON 对象",
      doc_hashing: "正在本机计算 {name} 的 SHA-256……",
      doc_hashed: "{name}（{size}）：指纹已在本机计算完成，文件本身不会发送。",
      doc_failed: "无法读取 {name}：{reason}",
      no_webcrypto: "此浏览器无法在本页面计算 SHA-256（WebCrypto 需要 HTTPS 或 localhost）。可不附文书进行核验，或通过 HTTPS 打开本页。",
      verifying: "正在核验……",
      verified_title: "✓ 核验通过",
      verified_summary: "全部步骤均已通过，已对照账本的区块链节点核验。",
      verified_with_document: "您持有的文书即为证书所证明的文书。",
      verified_without_document: "未核对文书：请添加文书以确认其为证书所证明的文件。",
      failed_title: "✗ 核验未通过：在“{step}”一步失败",
      mismatch_title: "✗ 核验未通过：文书与证书不符",
      mismatch_summary: "您持有的文件不是证书所证明的文书（哪怕只改动一个字节，指纹也会改变）。证书本身已通过标有 ✓ 的步骤。",
      failed_summary: "证书在标有 ✗ 的步骤未通过；其后的步骤未进行核验。",
      error_title: "无法完成核验",
      error_rate: "该地址的核验请求过多，请稍候再试。",
      error_network: "无法连接核验服务，请检查网络后重试。",
      error_generic: "服务返回 {status}：{detail}",
      not_checked: "未核验",
      passed: "通过",
      failed: "未通过",
      fact_kind: "记录类型",
      fact_court: "法院",
      fact_record: "记录编号",
      fact_network: "网络",
      fact_status: "状态",
      fact_transaction: "交易",
      fact_time: "上链时间",
      fact_document: "文书 SHA-256",
      step_format: "证书格式",
      step_network: "受信任网络",
      step_signature: "法院签名",
      step_proof: "默克尔证明",
      step_document: "文书指纹",
      step_chain: "区块链",
      step_signer: "签名密钥登记",
      step_record: "链上记录",
      step_status: "当前状态",
      kind_judgment: "判决",
      kind_enforcement_case: "执行案件",
      kind_defaulter_status: "失信被执行人名单",
      kind_notarized_digest: "存证文件",
      status_effective: "已生效",
      status_under_appeal: "上诉中",
      status_set_aside: "已撤销",
      status_superseded: "已被取代",
      status_satisfied: "已履行",
      status_open: "执行中",
      status_terminated: "终结本次执行程序",
      status_concluded: "已结案",
      status_restricted: "受限制",
      status_not_restricted: "不受限制",
      status_anchored: "已上链存证",
      bytes: "字节"
    }
  };

  var state = {
    lang: "en",
    certificate: null,      // the parsed certificate object
    certificateFile: null,  // {name} or {name, error}
    documentFile: null,     // {name, size, sha256, hashing, error}
    outcome: null,          // {type: "verified"|"failed"|"error", ...}
    mode: "browser",        // "browser" (js/verifier against an RPC URL) or "service"
    descriptor: null,       // the pinned descriptor (parsed) for browser mode
    busy: false
  };

  function $(id) { return document.getElementById(id); }

  function t(key, values) {
    var text = (STRINGS[state.lang] && STRINGS[state.lang][key]) || STRINGS.en[key] || key;
    if (values) {
      text = text.replace(/\{(\w+)\}/g, function (_, name) {
        return values[name] === undefined ? "" : String(values[name]);
      });
    }
    return text;
  }

  function stepName(name) {
    var key = "step_" + name;
    return STRINGS.en[key] ? t(key) : name;
  }

  function kindName(kind) {
    return STRINGS.en["kind_" + kind] ? t("kind_" + kind) : kind;
  }

  function initialLanguage() {
    try {
      var saved = window.localStorage.getItem("verify.lang");
      if (saved === "en" || saved === "zh") { return saved; }
    } catch (e) { /* storage may be disabled */ }
    var wanted = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
    return /^zh\b/i.test(wanted) ? "zh" : "en";
  }

  // -- rendering ----------------------------------------------------------------------------------

  function applyLanguage() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    var nodes = document.querySelectorAll("[data-i18n]");
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = t(nodes[i].getAttribute("data-i18n"));
    }
    document.title = t("page_title");
    var toggle = $("lang-toggle");
    toggle.textContent = t("lang_button");
    toggle.setAttribute("aria-label", t("lang_button_label"));
    toggle.setAttribute("lang", t("lang_button_lang"));
    renderFiles();
    renderOutcome();
  }

  function formatSize(size) {
    if (size < 1024) { return size + " " + t("bytes"); }
    if (size < 1024 * 1024) { return (size / 1024).toFixed(1) + " KiB"; }
    return (size / 1024 / 1024).toFixed(1) + " MiB";
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
    dStatus.className = "file-status";
    $("document-digest").hidden = true;
    if (!d) {
      dStatus.textContent = "";
    } else if (d.error) {
      dStatus.textContent = d.error === "no_webcrypto" ? t("no_webcrypto") : t("doc_failed", {name: d.name, reason: d.error});
      dStatus.className = "file-status bad";
    } else if (d.hashing) {
      dStatus.textContent = t("doc_hashing", {name: d.name});
    } else {
      dStatus.textContent = t("doc_hashed", {name: d.name, size: formatSize(d.size)});
      dStatus.className = "file-status good";
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

  function stateText(state) {
    if (!state) { return ""; }
    return STRINGS.en["status_" + state] ? t("status_" + state) : state.replace(/_/g, " ");
  }

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
    var text = ok === null ? t("not_checked") : detail;
    if (text) {
      var p = document.createElement("span");
      p.className = "detail";
      p.textContent = text;
      li.appendChild(p);
    }
    list.appendChild(li);
  }

  function expectedSteps(kind, withDocument) {
    return STEP_ORDER.filter(function (name) {
      if (name === "proof") { return kind === "notarized_digest"; }
      if (name === "case_number") { return false; }
      if (name === "document") { return withDocument; }
      return true;
    });
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
      expectedSteps(cert.kind, !!o.documentSha256).forEach(function (name) {
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

  function hex(buffer) {
    var bytes = new Uint8Array(buffer);
    var out = "";
    for (var i = 0; i < bytes.length; i++) { out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16); }
    return out;
  }

  function loadDocument(file) {
    state.outcome = null;
    if (!(window.crypto && window.crypto.subtle)) {
      state.documentFile = {name: file.name, error: "no_webcrypto"};
      renderFiles();
      return;
    }
    var entry = {name: file.name, size: file.size, hashing: true};
    state.documentFile = entry;
    renderFiles();
    renderOutcome();
    file.arrayBuffer().then(function (buffer) {
      return window.crypto.subtle.digest("SHA-256", buffer);
    }).then(function (digest) {
      entry.sha256 = hex(digest);
      entry.hashing = false;
    }, function (e) {
      entry.hashing = false;
      entry.error = String(e && e.message || e);
    }).then(function () {
      if (state.documentFile === entry) { renderFiles(); }
    });
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
    state.lang = initialLanguage();
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
    $("lang-toggle").addEventListener("click", function () {
      state.lang = state.lang === "zh" ? "en" : "zh";
      try { window.localStorage.setItem("verify.lang", state.lang); } catch (e) { /* ignore */ }
      applyLanguage();
    });
    applyLanguage();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
