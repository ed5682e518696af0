// Engram memory browser: the only script. Progressive: every page works without it.
// "/" focuses the search box; a Copy button copies the context block; submit buttons
// are disabled while their form is being sent (no double edits).
(function () {
  "use strict";
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT");
    if (ev.key === "/" && !typing && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      var box = document.querySelector("[data-hotkey='/']");
      if (box) { ev.preventDefault(); box.focus(); box.select(); }
    }
  });
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("[data-copy]") : null;
    if (!btn) { return; }
    var src = document.querySelector(btn.getAttribute("data-copy"));
    if (!src || !navigator.clipboard) { return; }
    navigator.clipboard.writeText(src.textContent).then(function () {
      btn.textContent = "Copied";
    }, function () { btn.textContent = "Copy failed"; });
  });
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.method && form.method.toLowerCase() === "post") {
      var buttons = form.querySelectorAll("button[type=submit]");
      for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
    }
  });
}());
