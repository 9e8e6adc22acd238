/*
 * The language of the /verify page and the verification sheet: Chinese, English or French, chosen with the
 * buttons [data-lang], remembered in this browser, by default the browser's preferred language. Every text
 * lives in texts.js (window.VERIFY_TEXTS); elements with data-i18n="key" show the text of that key.
 */
(function () {
  "use strict";

  var TEXTS = window.VERIFY_TEXTS;
  var LANGS = ["zh", "en", "fr"];
  var HTML_LANG = {zh: "zh-CN", en: "en", fr: "fr"};
  var listeners = [];
  var current = initial();

  function initial() {
    try {
      var saved = window.localStorage.getItem("verify.lang");
      if (LANGS.indexOf(saved) >= 0) { return saved; }
    } catch (e) { /* storage may be disabled */ }
    var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
    for (var i = 0; i < wanted.length; i++) {
      var base = String(wanted[i]).toLowerCase().split("-")[0];
      if (LANGS.indexOf(base) >= 0) { return base; }
    }
    return "en";
  }

  function has(key) { return Object.prototype.hasOwnProperty.call(TEXTS.en, key); }

  function t(key, values) {
    var text = has(key) ? (TEXTS[current][key] || TEXTS.en[key]) : key;
    if (values) {
      text = text.replace(/\{(\w+)\}/g, function (_, name) {
        return values[name] === undefined ? "" : String(values[name]);
      });
    }
    return text;
  }

  /** A record's state (effective, set_aside, ...) in the current language. */
  function status(name) {
    if (!name) { return ""; }
    return has("status_" + name) ? t("status_" + name) : String(name).replace(/_/g, " ");
  }

  function apply() {
    document.documentElement.lang = HTML_LANG[current];
    var nodes = document.querySelectorAll("[data-i18n]");
    for (var i = 0; i < nodes.length; i++) { nodes[i].textContent = t(nodes[i].getAttribute("data-i18n")); }
    var buttons = document.querySelectorAll("[data-lang]");
    for (var j = 0; j < buttons.length; j++) {
      buttons[j].setAttribute("aria-pressed", String(buttons[j].getAttribute("data-lang") === current));
    }
    listeners.forEach(function (fn) { fn(current); });
  }

  function set(lang) {
    if (LANGS.indexOf(lang) < 0) { return; }
    current = lang;
    try { window.localStorage.setItem("verify.lang", lang); } catch (e) { /* ignore */ }
    apply();
  }

  var wired = false;

  /** Wires the language buttons (once) and shows the current language; each page script calls it. */
  function start() {
    if (wired) { apply(); return; }
    wired = true;
    var buttons = document.querySelectorAll("[data-lang]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function () { set(this.getAttribute("data-lang")); });
    }
    apply();
  }

  window.VerifyI18n = {
    t: t,
    has: has,
    status: status,
    set: set,
    lang: function () { return current; },
    onChange: function (fn) { listeners.push(fn); },
    start: start
  };
}());
