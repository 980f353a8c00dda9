// The share panel's "Copy link" button (the link is also selectable by hand without JS).
(function () {
  if (window.pfShareBound) return;
  window.pfShareBound = true;
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-copy]");
    if (!btn) return;
    var input = document.querySelector(btn.getAttribute("data-copy"));
    if (!input) return;
    function done() { btn.textContent = "Copied"; setTimeout(function () { btn.textContent = "Copy link"; }, 2000); }
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
})();
