/* rthooks HTML report: optional filters, inlined by reports/html.py. The page is complete
 * without this script; with it, a filter bar appears (by status, by package, by text).
 *
 * Filterable elements carry data-filter (what they are: items, cases, clauses, ...) and
 * data-status (the statuses they show; absent: not filtered by status). Their package is their
 * own data-package ("a|b" for several) or that of the [data-group] around them; a group whose
 * filterable elements are all hidden is hidden too. Text matches the element's text.
 * The address can preset the filters: index.html?status=fail,error&package=runtime/debug&q=gogc */
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=status]"));
  var pkg = form.querySelector("select[name=package]");
  var text = form.querySelector("input[name=text]");
  var count = document.getElementById("filter-count");
  var groups = Array.prototype.slice.call(document.querySelectorAll("[data-group]"));
  var targets = Array.prototype.slice.call(document.querySelectorAll("[data-filter]")).map(function (el) {
    var group = el.parentElement && el.parentElement.closest("[data-group]");
    var packages = el.getAttribute("data-package") || (group && group.getAttribute("data-package")) || "";
    var status = el.getAttribute("data-status");
    return {
      el: el,
      kind: el.getAttribute("data-filter"),
      statuses: status === null ? null : status.split(" "),
      packages: "|" + packages + "|",
      text: el.textContent.toLowerCase()
    };
  });

  function apply() {
    var want = {};
    boxes.forEach(function (b) { want[b.value] = b.checked; });
    var p = pkg.value;
    var t = text.value.trim().toLowerCase();
    var shown = {}, total = {};
    targets.forEach(function (x) {
      var ok = x.statuses === null || x.statuses.some(function (s) { return want[s]; });
      if (ok && p) { ok = x.packages.indexOf("|" + p + "|") >= 0; }
      if (ok && t) { ok = x.text.indexOf(t) >= 0; }
      x.el.hidden = !ok;
      total[x.kind] = (total[x.kind] || 0) + 1;
      shown[x.kind] = (shown[x.kind] || 0) + (ok ? 1 : 0);
    });
    groups.forEach(function (g) {
      g.hidden = !g.querySelector("[data-filter]:not([hidden])");
    });
    var parts = [];
    Object.keys(total).forEach(function (k) {
      if (k.charAt(0) !== "_") { parts.push(shown[k] + " of " + total[k] + " " + k); }  // "_": not counted
    });
    count.textContent = "showing " + parts.join(", ");
  }

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; }
  }

  // Initial filters from the address: ?status=fail,error&package=runtime&q=gogc (a link to a view).
  function fromAddress() {
    var params = new URLSearchParams(location.search);
    var st = params.get("status");
    if (st) {
      var on = st.split(",");
      boxes.forEach(function (b) { b.checked = on.indexOf(b.value) >= 0; });
    }
    if (params.get("package")) { pkg.value = params.get("package"); }
    if (params.get("q")) { text.value = params.get("q"); }
  }

  form.hidden = false;
  fromAddress();
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
