/*
 * The document's fingerprint, computed in this browser: SHA-256 of the file's bytes with WebCrypto
 * (SubtleCrypto). The file itself is never sent anywhere; both ways to verify on /verify use this.
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
}());
