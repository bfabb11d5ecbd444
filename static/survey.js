// The survey form: focus the error summary after a bad submit, count the answered questions, and
// keep a half-given answer in this browser (localStorage) until it is sent. No inline script: the
// page's Content-Security-Policy allows scripts from this origin only.
(function () {
  "use strict";
  var form = document.querySelector("form[data-draft]");
  if (!form) { return; }
  var key = "feedback-draft:" + location.pathname;
  var skip = { csrf_token: true, started: true, action: true };
  var store = null;
  try { store = window.localStorage; } catch (e) { store = null; }  // storage may be off

  function names() {
    var seen = {}, list = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && !skip[el.name] && !seen[el.name] && el.type !== "submit" && el.type !== "hidden") {
        seen[el.name] = true; list.push(el.name);
      }
    });
    return list;
  }
  function valuesOf(name) {
    return Array.prototype.filter.call(form.elements, function (el) { return el.name === name; })
      .filter(function (el) { return el.type === "radio" || el.type === "checkbox" ? el.checked : el.value.trim() !== ""; })
      .map(function (el) { return el.value; });
  }
  function progress() {
    var count = names().filter(function (name) { return valuesOf(name).length > 0; }).length;
    var text = document.querySelector("[data-progress-count]");
    var bar = document.querySelector("[data-progress] progress");
    if (text) { text.textContent = String(count); }
    if (bar) { bar.value = count; }
  }
  function save() {
    if (!store) { return; }
    var draft = {};
    names().forEach(function (name) { draft[name] = valuesOf(name); });
    if (form.elements.started) { draft.started = [form.elements.started.value]; }  // begun in the e-mail
    try { store.setItem(key, JSON.stringify(draft)); } catch (e) { /* full or refused: nothing kept */ }
  }
  function restore() {
    if (!store) { return; }
    var draft;
    try { draft = JSON.parse(store.getItem(key) || "null"); } catch (e) { draft = null; }
    if (!draft) { return; }
    if (draft.started && !form.elements.started) {
      var started = document.createElement("input");
      started.type = "hidden"; started.name = "started"; started.value = "email";
      form.appendChild(started);
    }
    names().forEach(function (name) {
      var kept = draft[name];
      if (!kept || !kept.length || valuesOf(name).length) { return; }  // what the page holds wins
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name !== name) { return; }
        if (el.type === "radio" || el.type === "checkbox") { el.checked = kept.indexOf(el.value) !== -1; }
        else { el.value = kept[0]; }
      });
    });
  }

  restore();
  progress();
  form.addEventListener("change", function () { save(); progress(); });
  form.addEventListener("input", function () { save(); progress(); });
  form.addEventListener("submit", function () { if (store) { store.removeItem(key); } });
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
