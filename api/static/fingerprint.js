/*
 * The document's fingerprint, computed in this browser: SHA-256 of the file's bytes with WebCrypto
 * (SubtleCrypto). The file itself is never sent anywhere; both ways to verify on /verify use this, and
 * its words for the clerk (texts.js, through i18n.js).
 */
(function () {
  "use strict";

  function hex(buffer) {
    var bytes = new Uint8Array(buffer);
    var out = "";
    for (var i = 0; i < bytes.length; i++) { out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16); }
    return out;
  }

  /**
   * {name, size, hashing: true} at once, then {sha256} (64 lower-case hex digits) or {error}, with
   * ``done(entry)`` called; {name, error: "no_webcrypto"} where the browser offers no SubtleCrypto.
   */
  window.fingerprint = function (file, done) {
    if (!(window.crypto && window.crypto.subtle)) { return {name: file.name, error: "no_webcrypto"}; }
    var entry = {name: file.name, size: file.size, hashing: true};
    file.arrayBuffer().then(function (buffer) {
      return window.crypto.subtle.digest("SHA-256", buffer);
    }).then(function (digest) {
      entry.sha256 = hex(digest);
    }, function (e) {
      entry.error = String(e && e.message || e);
    }).then(function () {
      entry.hashing = false;
      done(entry);
    });
    return entry;
  };

  function formatSize(size) {
    var t = window.VerifyI18n.t;
    if (size < 1024) { return size + " " + t("bytes"); }
    if (size < 1024 * 1024) { return (size / 1024).toFixed(1) + " KiB"; }
    return (size / 1024 / 1024).toFixed(1) + " MiB";
  }

  /** What to tell the clerk about an entry: {text, tone} with tone "", "good" or "bad". */
  window.fingerprint.describe = function (d) {
    var t = window.VerifyI18n.t;
    if (!d) { return {text: "", tone: ""}; }
    if (d.error) {
      return {text: d.error === "no_webcrypto" ? t("no_webcrypto") : t("doc_failed", {name: d.name, reason: d.error}),
        tone: "bad"};
    }
    if (d.hashing) { return {text: t("doc_hashing", {name: d.name}), tone: ""}; }
    return {text: t("doc_hashed", {name: d.name, size: formatSize(d.size)}), tone: "good"};
  };
}());
