/* rthooks HTML report: optional filters, inlined by reports/html.py. The page is complete
 * without this script; with it, a filter bar appears (by status, by package, by text). */
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  var targets = Array.prototype.slice.call(document.querySelectorAll("[data-filter]"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("[data-group]"));
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=status]"));
  var pkg = form.querySelector("select[name=package]");
  var text = form.querySelector("input[name=text]");
  var count = document.getElementById("filter-count");

  function apply() {
    var want = {};
    boxes.forEach(function (b) { want[b.value] = b.checked; });
    var p = pkg.value;
    var t = text.value.trim().toLowerCase();
    var shown = {}, total = {};
    targets.forEach(function (el) {
      var kind = el.getAttribute("data-filter");
      var st = el.getAttribute("data-status");
      var ok = true;
      if (st !== null) {
        ok = st.split(" ").some(function (s) { return want[s]; });
      }
      if (ok && p) {
        ok = ("|" + (el.getAttribute("data-package") || "") + "|").indexOf("|" + p + "|") >= 0;
      }
      if (ok && t) {
        ok = (el.getAttribute("data-text") || "").indexOf(t) >= 0;
      }
      el.hidden = !ok;
      total[kind] = (total[kind] || 0) + 1;
      shown[kind] = (shown[kind] || 0) + (ok ? 1 : 0);
    });
    groups.forEach(function (g) {
      var name = g.getAttribute("data-group");
      var any = document.querySelector("[data-in-group='" + name + "']:not([hidden])");
      g.hidden = !any;
    });
    var parts = [];
    Object.keys(total).forEach(function (k) { parts.push(shown[k] + " of " + total[k] + " " + k); });
    count.textContent = "showing " + parts.join(", ");
  }

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; }
  }

  form.hidden = false;
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  form.querySelector("button[name=reset]").addEventListener("click", function () {
    boxes.forEach(function (b) { b.checked = true; });
    pkg.value = "";
    text.value = "";
    apply();
  });
  window.addEventListener("hashchange", openTarget);
  apply();
  openTarget();
  document.body.setAttribute("data-filters", "ready");
})();
