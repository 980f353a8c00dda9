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
