(function () {
  "use strict";
  var root = document.documentElement;
  var data = JSON.parse(document.getElementById("aadtrace-data").textContent);
  var controls = document.getElementById("controls");
  var select = document.getElementById("flow-filter");
  data.flows.forEach(function (f) {
    var opt = document.createElement("option");
    opt.value = String(f.id);
    opt.textContent = f.label;
    select.appendChild(opt);
  });
  function apply() {
    var show = {};
    controls.querySelectorAll("input[data-sev]").forEach(function (c) {
      show[c.getAttribute("data-sev")] = c.checked;
    });
    document.querySelectorAll("[data-severity]").forEach(function (el) {
      el.hidden = !show[el.getAttribute("data-severity")];
    });
    var flow = select.value;
    document.querySelectorAll("section.flow, section.loose").forEach(function (s) {
      s.hidden = flow !== "all" && s.getAttribute("data-flow") !== flow;
    });
  }
  controls.addEventListener("change", apply);
  document.getElementById("expand").addEventListener("click", function () {
    var open = this.getAttribute("aria-pressed") !== "true";
    this.setAttribute("aria-pressed", String(open));
    this.textContent = open ? "Collapse all" : "Expand all";
    document.querySelectorAll("details").forEach(function (d) {
      d.open = open;
    });
  });
  document.querySelectorAll("a.mark").forEach(function (a) {
    a.addEventListener("click", function () {
      var target = document.getElementById(a.getAttribute("href").slice(1));
      if (target) {
        target.hidden = false;
      }
    });
  });
  var copy = document.getElementById("copy-ticket");
  var done = document.getElementById("copy-done");
  copy.addEventListener("click", function () {
    var text = document.getElementById("ticket").textContent;
    function fallback() {
      var area = document.createElement("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(area);
      done.textContent = ok ? "Copied." : "Copy failed: select the text below instead.";
      if (!ok) {
        document.getElementById("ticket").hidden = false;
      }
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () {
        done.textContent = "Copied.";
      }, fallback);
    } else {
      fallback();
    }
  });
  copy.hidden = false;
  controls.hidden = false;
  apply();
  root.setAttribute("data-js", "ready");
})();
