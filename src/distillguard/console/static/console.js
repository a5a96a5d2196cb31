// distillguard console: keyboard navigation of list pages (j/k move, Enter opens, / searches,
// g returns to the queue). Plain DOM code, no dependency; every page works without it.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("table.nav tbody tr[data-href]"));
  var at = -1;
  function select(i) {
    if (!rows.length) return;
    if (at >= 0) rows[at].classList.remove("sel");
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows[at].classList.add("sel");
    rows[at].scrollIntoView({ block: "nearest" });
  }
  rows.forEach(function (row, i) {
    row.addEventListener("click", function (ev) {
      if (ev.target.closest("a, button, input, select")) return;
      window.location.href = row.getAttribute("data-href");
    });
  });
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) {
      if (ev.key === "Escape") t.blur();
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "j") { select(at + 1); ev.preventDefault(); }
    else if (ev.key === "k") { select(at - 1); ev.preventDefault(); }
    else if (ev.key === "Enter" && at >= 0) { window.location.href = rows[at].getAttribute("data-href"); ev.preventDefault(); }
    else if (ev.key === "/") { var s = document.getElementById("search"); if (s) { s.focus(); s.select(); ev.preventDefault(); } }
    else if (ev.key === "g") { window.location.href = "/"; }
  });
})();
