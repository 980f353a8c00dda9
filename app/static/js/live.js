// Live updates fail loudly. Pollers are marked data-live (see app/blueprints/leads/live.py);
// when one of their requests fails (network error, 4xx/5xx), the page shows a notice that
// it may be out of date, with a Reload button, instead of silently freezing. The notice
// goes once a poll succeeds again. Other failed htmx requests show the server's message.
(function () {
  "use strict";
  var NOTICE_ID = "live-stale";

  function isLive(elt) {
    return !!(elt && elt.closest && elt.closest("[data-live]"));
  }

  function showStale() {
    if (document.getElementById(NOTICE_ID)) { return; }
    var box = document.createElement("div");
    box.id = NOTICE_ID;
    box.className = "stale-notice";
    box.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.textContent = "Updates paused: this page could not reach the server and may be out of date.";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-sm";
    button.textContent = "Reload";
    button.addEventListener("click", function () { window.location.reload(); });
    box.appendChild(text);
    box.appendChild(button);
    document.body.appendChild(box);
  }

  function clearStale() {
    var box = document.getElementById(NOTICE_ID);
    if (box) { box.parentNode.removeChild(box); }
  }

  // A failed request that is not a poll: show what the server said (an error answer to an
  // htmx request is a short flash fragment, see app/errors.py) where flashes go.
  function showMessage(xhr) {
    var flashes = document.getElementById("flashes");
    if (!flashes || !xhr) { return; }
    var tpl = document.createElement("template");
    tpl.innerHTML = xhr.responseText || "";
    var message = tpl.content.querySelector(".flash");
    if (message) {
      flashes.innerHTML = "";
      flashes.appendChild(message);
    }
  }

  document.addEventListener("htmx:responseError", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (isLive(elt)) { showStale(); } else { showMessage(evt.detail && evt.detail.xhr); }
  });
  document.addEventListener("htmx:sendError", function (evt) {
    if (isLive(evt.detail && evt.detail.elt)) { showStale(); }
  });
  // Before the swap: a poller replaced by its answer is detached by then, and its later
  // events no longer reach the document.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var d = evt.detail || {};
    if (!d.isError && isLive(d.elt)) { clearStale(); }
  });
})();
