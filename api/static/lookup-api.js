/*
 * The document-first look-up, shared by the /verify page and the verification sheet: POST the case number
 * and the document's SHA-256 (never the document) to /api/v1/verify/lookup, then each record's recording
 * time from /api/v1/verify/recorded/{block}. And the two addresses a record's verdict travels by: the
 * sheet and the verdict link the sheet's QR code carries. Both keep the look-up in the URL's fragment
 * (#case=…&digest=…&record=…), which the browser never sends to a server, so no access log holds it.
 */
(function () {
  "use strict";

  var LOOKUP = "/api/v1/verify/lookup";
  var RECORDED = "/api/v1/verify/recorded/";

  function getJson(response) {
    return response.json().catch(function () { return {}; }).then(function (data) {
      if (!response.ok) {
        var error = new Error(data.detail || data.title || String(response.status));
        error.status = response.status;
        throw error;
      }
      return data;
    });
  }

  /** The records an answer shows: every claimant of a conflict, else the one record it names (if any). */
  function records(answer) {
    if (answer.records && answer.records.length) { return answer.records; }
    if (!answer.record_id) { return []; }
    return [{kind: answer.kind, record_id: answer.record_id, judgment_id: answer.judgment_id,
      court: answer.court, jurisdiction: answer.jurisdiction,
      status: answer.status, superseded_by: answer.superseded_by, block_number: answer.block_number,
      transaction_hash: answer.transaction_hash, case_number_matches: true, document_matches: true}];
  }

  function recordedTimes(list) {
    var blocks = {};
    list.forEach(function (r) { blocks[r.block_number] = true; });
    return Promise.all(Object.keys(blocks).map(function (block) {
      return fetch(RECORDED + block, {credentials: "omit", cache: "no-store"}).then(getJson).then(function (b) {
        return [Number(block), b.block_time];
      });
    })).then(function (pairs) {
      var times = {};
      pairs.forEach(function (p) { times[p[0]] = p[1]; });
      list.forEach(function (r) { r.recorded_at = times[r.block_number]; });
      return list;
    });
  }

  /** {answer, records (each with recorded_at, unix seconds), at (the verdict time, a Date)}. */
  function ask(caseNumber, sha256, expectedCourt) {
    var body = {case_number: caseNumber, document_sha256: sha256};
    if (expectedCourt) { body.expected_court = Number(expectedCourt); }
    return fetch(LOOKUP, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Accept": "application/json, application/problem+json"},
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store"
    }).then(getJson).then(function (answer) {
      var at = new Date();
      return recordedTimes(records(answer)).then(function (list) {
        return {answer: answer, records: list, at: at};
      });
    });
  }

  function fragment(params) {
    return Object.keys(params).filter(function (k) { return params[k]; }).map(function (k) {
      return k + "=" + encodeURIComponent(params[k]);
    }).join("&");
  }

  /** The look-up a URL's fragment carries: {case, digest, record, court}, or null. */
  function fromLocation(location) {
    var out = {};
    String(location.hash || "").replace(/^#/, "").split("&").forEach(function (pair) {
      var i = pair.indexOf("=");
      if (i > 0) {
        try { out[pair.slice(0, i)] = decodeURIComponent(pair.slice(i + 1)); } catch (e) { /* ignore */ }
      }
    });
    return out["case"] && /^(0x)?[0-9a-fA-F]{64}$/.test(out.digest || "") ? out : null;
  }

  function isoTime(seconds) {
    return seconds === undefined ? "" : new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
  }

  window.VerifyLookup = {
    ask: ask,
    records: records,
    fromLocation: fromLocation,
    isoTime: isoTime,
    verdictUrl: function (origin, p) {
      return origin + "/verify/#" + fragment({"case": p["case"], digest: p.digest, record: p.record, court: p.court});
    },
    sheetUrl: function (p) {
      return "/verify/sheet.html#" + fragment({"case": p["case"], digest: p.digest, record: p.record, court: p.court});
    }
  };
}());
