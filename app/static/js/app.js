// Heartwatch's small page helpers. Every page works without them; they add comfort:
// copy buttons, select-all, confirmations, tabs, and the live feed's connection state.
(function () {
  "use strict";

  function copyText(text, button) {
    function done() {
      var old = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = old; }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
      return;
    }
    // Plain http on another host has no clipboard API: copy through a selection instead.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); done(); } finally { area.remove(); }
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy"));
      if (source) copyText(source.textContent, copy);
      return;
    }
    var tab = event.target.closest("[data-show]");
    if (tab) {
      var group = tab.getAttribute("data-group");
      document.querySelectorAll('[data-group="' + group + '"][data-show]').forEach(function (b) {
        b.setAttribute("aria-selected", b === tab ? "true" : "false");
      });
      document.querySelectorAll('.chart-wrap[data-group="' + group + '"]').forEach(function (panel) {
        panel.hidden = panel.id !== tab.getAttribute("data-show");
      });
    }
  });

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (!all) return;
    var name = all.getAttribute("data-select-all");
    var table = all.closest("table");
    table.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
  }, true);

  // A filter form that pushes its query into the address (hx-push-url) shows what the address says
  // after Back and Forward: htmx restores the page's markup, not the values chosen in its fields.
  function formFromAddress() {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form[data-query-form]").forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (!field.name || field.type === "submit" || field.type === "button") return;
        var value = params.has(field.name) ? params.get(field.name) : null;
        if (field.type === "checkbox" || field.type === "radio") {
          field.checked = value !== null && value === field.value;
        } else if (field.tagName === "SELECT") {
          // Absent means the first choice: "all", or "open" for the status.
          var chosen = Array.prototype.filter.call(field.options, function (o) { return o.value === value; })[0];
          field.value = (chosen || field.options[0] || {value: ""}).value;
        } else {
          field.value = value === null ? "" : value;
        }
      });
    });
  }
  document.addEventListener("htmx:historyRestore", formFromAddress);
  window.addEventListener("popstate", function () { setTimeout(formFromAddress, 0); });
  window.addEventListener("pageshow", function (event) { if (event.persisted) formFromAddress(); });

  // --- the live feed ---------------------------------------------------------------------------
  var MAX_FEED_ROWS = 50;
  var retryTimer = null;
  var attempts = 0;

  function feedState(state, text) {
    var badge = document.getElementById("feed-status");
    if (!badge) return;
    badge.setAttribute("data-state", state);
    badge.textContent = text;
  }

  document.addEventListener("htmx:wsConnecting", function () { feedState("connecting", "connecting…"); });
  // "live" comes from the server itself, once it has subscribed this socket to the feed.
  document.addEventListener("htmx:wsOpen", function () {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    attempts = 0;
  });
  document.addEventListener("htmx:wsClose", function (event) {
    feedState("offline", "offline · reconnecting");
    var code = event.detail && event.detail.event ? event.detail.event.code : 1006;
    // The extension retries abnormal closes itself; a server that went away cleanly (a restart,
    // 1000/1001) is retried here, with a growing pause.
    if ([1006, 1011, 1012, 1013].indexOf(code) < 0 && event.detail.socketWrapper && !retryTimer) {
      var wrapper = event.detail.socketWrapper;
      retryTimer = setTimeout(function () {
        retryTimer = null;
        wrapper.reconnect();
      }, Math.min(30000, 1000 * Math.pow(2, attempts)));
      attempts += 1;
    }
  });
  document.addEventListener("htmx:wsAfterMessage", function (event) {
    var list = document.getElementById("feed-list");
    if (!list || String(event.detail.message).indexOf("feed-item") < 0) return;
    // One row per error: its latest event, at the top.
    var seen = {};
    Array.prototype.slice.call(list.children).forEach(function (row) {
      var id = row.getAttribute("data-error-id");
      if (seen[id]) row.remove(); else seen[id] = true;
    });
    while (list.children.length > MAX_FEED_ROWS) list.lastElementChild.remove();
    var first = list.firstElementChild;
    if (first) {
      first.classList.add("fresh");
      setTimeout(function () { first.classList.remove("fresh"); }, 2500);
    }
  });
})();
