// Send the CSRF token with every htmx request (no inline script: CSP forbids it).
document.addEventListener("htmx:configRequest", function (evt) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { evt.detail.headers["X-CSRFToken"] = meta.content; }
});
// Confirm dangerous actions declared with data-confirm (works without hx-confirm's eval).
document.addEventListener("submit", function (evt) {
  var msg = evt.target.getAttribute && evt.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) { evt.preventDefault(); evt.stopImmediatePropagation(); }
}, true);
// "select all" checkboxes: <input type=checkbox data-select-all="name">
document.addEventListener("change", function (evt) {
  var name = evt.target.getAttribute && evt.target.getAttribute("data-select-all");
  if (!name) { return; }
  document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (cb) {
    cb.checked = evt.target.checked;
  });
});
// Polling regions marked data-poll-visible skip their refresh while the tab is hidden.
document.addEventListener("htmx:beforeRequest", function (evt) {
  var elt = evt.detail && evt.detail.elt;
  if (document.hidden && elt && elt.hasAttribute && elt.hasAttribute("data-poll-visible")) {
    evt.preventDefault();
  }
});
// A polling block swapped in keeps the folds (<details id=…>) the person had opened.
var openFolds = [];
document.addEventListener("htmx:beforeSwap", function () {
  openFolds = Array.prototype.map.call(document.querySelectorAll("details[id][open]"), function (d) { return d.id; });
});
document.addEventListener("htmx:afterSwap", function () {
  openFolds.forEach(function (id) { var d = document.getElementById(id); if (d) { d.open = true; } });
});
// Copy buttons: <button data-copy="#input-id"> copies that field's value (and selects it,
// so Ctrl+C works where the clipboard API is not allowed, e.g. plain http on a LAN).
document.addEventListener("click", function (evt) {
  var btn = evt.target.closest && evt.target.closest("[data-copy]");
  if (!btn) { return; }
  var field = document.querySelector(btn.getAttribute("data-copy"));
  if (!field) { return; }
  field.focus();
  field.select();
  var done = function () { btn.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, function () {});
  } else if (document.execCommand && document.execCommand("copy")) {
    done();
  }
});
