(function () {
  "use strict";
  var root = document.documentElement;
  // A step's request and response kept out of the DOM (a large trace's page)
  // is put in place the first time its step opens. `toggle` does not bubble.
  document.addEventListener(
    "toggle",
    function (e) {
      var d = e.target;
      if (!d.open) {
        return;
      }
      for (var i = 0; i < d.children.length; i++) {
        var slot = d.children[i];
        var id = slot.getAttribute("data-detail");
        if (id !== null) {
          var src = document.getElementById("detail-" + id);
          slot.removeAttribute("data-detail");
          if (src) {
            slot.innerHTML = src.textContent;
          }
        }
      }
    },
    true
  );
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
(function () {
  "use strict";
  // A link to a step opens its row (and the band or table row around it).
  function reveal(id) {
    var target = document.getElementById(id);
    if (!target) {
      return;
    }
    for (var el = target; el; el = el.parentElement) {
      if (el.tagName === "DETAILS") {
        el.open = true;
      }
      if (el.hidden) {
        el.hidden = false;
      }
    }
    // A row of "all requests" holds its request in a closed <details>.
    var inner = target.querySelector ? target.querySelector("details.inline") : null;
    if (inner) {
      inner.open = true;
    }
  }

  // Host lanes: the bar under the pointer (or last clicked) names its request.
  var lanes = document.getElementById("lanes");
  var info = document.getElementById("lane-info");
  var picked = null;
  function show(bar) {
    info.textContent = bar.getAttribute("title");
  }
  if (lanes && info) {
    lanes.addEventListener("mouseover", function (e) {
      var bar = e.target.closest ? e.target.closest("a.bar") : null;
      if (bar) {
        show(bar);
      }
    });
    lanes.addEventListener("click", function (e) {
      var bar = e.target.closest ? e.target.closest("a.bar") : null;
      if (bar) {
        if (picked) {
          picked.classList.remove("picked");
        }
        picked = bar;
        bar.classList.add("picked");
        show(bar);
      }
    });
  }
  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[href^='#step-'], a[href^='#mfa-'], a[href^='#req-']") : null;
    if (a) {
      reveal(a.getAttribute("href").slice(1));
    }
  });
  if (location.hash) {
    reveal(location.hash.slice(1));
  }

  // All requests: filters, search and sorting.
  var table = document.getElementById("req-table");
  if (!table) {
    return;
  }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var host = document.getElementById("req-host");
  var status = document.getElementById("req-status");
  var sev = document.getElementById("req-sev");
  var search = document.getElementById("req-search");
  var count = document.getElementById("req-count");
  var hosts = {};
  rows.forEach(function (r) {
    hosts[r.getAttribute("data-host")] = (hosts[r.getAttribute("data-host")] || 0) + 1;
  });
  Object.keys(hosts).sort().forEach(function (h) {
    var opt = document.createElement("option");
    opt.value = h;
    opt.textContent = h + " (" + hosts[h] + ")";
    host.appendChild(opt);
  });
  function filter() {
    var q = search.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (r) {
      var st = r.getAttribute("data-status");
      var sv = r.getAttribute("data-sev");
      var ok =
        (!host.value || r.getAttribute("data-host") === host.value) &&
        (!status.value || (status.value === "0" ? st === "0" : st.charAt(0) === status.value && st !== "0")) &&
        (!sev.value || (sev.value === "some" ? sv !== "none" : sv === sev.value)) &&
        (!q || (r.textContent + " " + r.getAttribute("data-ids")).toLowerCase().indexOf(q) >= 0);
      r.hidden = !ok;
      if (ok) {
        shown += 1;
      }
    });
    count.textContent = shown + " of " + rows.length + " shown";
  }
  [host, status, sev].forEach(function (el) {
    el.addEventListener("change", filter);
  });
  search.addEventListener("input", filter);
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    if (!th.hasAttribute("data-sort")) {
      return;
    }
    th.tabIndex = 0;
    function sort() {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) {
        h.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var numeric = th.getAttribute("data-sort") === "num";
      var key = function (r) {
        var t = r.cells[col].textContent.trim();
        return numeric ? parseFloat(t) || 0 : t.toLowerCase();
      };
      rows.sort(function (a, b) {
        var x = key(a);
        var y = key(b);
        var d = x < y ? -1 : x > y ? 1 : 0;
        return asc ? d : -d;
      });
      rows.forEach(function (r) {
        body.appendChild(r);
      });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        sort();
      }
    });
  });
  document.getElementById("req-controls").hidden = false;
  filter();
})();
