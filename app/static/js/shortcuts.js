// Keyboard shortcuts, listed by "?": j and k move the selection in an error list, Enter opens the
// selected error, h and l follow the links marked data-key (an error's older and newer events),
// "/" goes to the search box, Escape closes the list of keys. Keys typed into a field, or with
// Ctrl, Alt or Meta, are left alone.
(function () {
  "use strict";
  var KEYS = [
    ["j", "select the next error in the list"], ["k", "select the previous error in the list"],
    ["Enter", "open the selected error"], ["h", "older event of this error"], ["l", "newer event of this error"],
    ["/", "go to the search box"], ["?", "show these keys"], ["Esc", "close this list"]
  ];
  var SELECTED = "kbd-selected";
  var selectedHref = null;  // the selected error, kept when the table is swapped (a search, a filter)

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function errorRows() {
    return Array.prototype.filter.call(document.querySelectorAll("#error-table tbody tr"), function (row) {
      return row.querySelector("a.error-title");
    });
  }

  function move(step) {
    var rows = errorRows();
    if (!rows.length) return false;
    var at = -1;
    rows.forEach(function (row, index) { if (row.classList.contains(SELECTED)) at = index; });
    var next = at < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, at + step));
    if (at >= 0) {
      rows[at].classList.remove(SELECTED);
      rows[at].removeAttribute("aria-current");
    }
    select(rows[next]);
    rows[next].scrollIntoView({ block: "nearest" });
    return true;
  }

  function select(row) {
    row.classList.add(SELECTED);
    row.setAttribute("aria-current", "true");
    selectedHref = row.querySelector("a.error-title").getAttribute("href");
  }

  // A refreshed table (the live search, a filter) keeps the selected error selected while it is listed.
  document.addEventListener("htmx:afterSwap", function () {
    if (!selectedHref) return;
    errorRows().forEach(function (row) {
      if (row.querySelector("a.error-title").getAttribute("href") === selectedHref) select(row);
    });
  });

  function follow(link) {
    if (!link) return false;
    window.location.assign(link.href);
    return true;
  }

  function searchBox() {
    var box = document.querySelector("main input[name=q]") || document.querySelector("main input[type=search]");
    if (!box) return false;
    box.focus();
    box.select();
    return true;
  }

  // Closed, the list leaves no focus behind on its Close button: the browser moves focus off a hidden
  // element only at its next rendering, and an Enter pressed before that would go to the button.
  function closeHelp(dialog) {
    dialog.close();
    if (dialog.contains(document.activeElement)) document.activeElement.blur();
  }

  function helpDialog() {
    var dialog = document.getElementById("key-help");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "key-help";
    dialog.className = "keyhelp";
    dialog.setAttribute("aria-labelledby", "key-help-title");
    var title = document.createElement("h2");
    title.id = "key-help-title";
    title.textContent = "Keyboard shortcuts";
    var list = document.createElement("dl");
    KEYS.forEach(function (pair) {
      var term = document.createElement("dt");
      var key = document.createElement("kbd");
      key.textContent = pair[0];
      term.appendChild(key);
      var meaning = document.createElement("dd");
      meaning.textContent = pair[1];
      list.append(term, meaning);
    });
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn small";
    close.textContent = "Close";
    close.addEventListener("click", function () { closeHelp(dialog); });
    dialog.append(title, list, close);
    // A click on the backdrop (outside the box) closes it too.
    dialog.addEventListener("click", function (event) { if (event.target === dialog) closeHelp(dialog); });
    document.body.appendChild(dialog);
    return dialog;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.isComposing) return;
    var open = document.getElementById("key-help");
    if (open && open.open) {
      if (event.key === "Escape") { closeHelp(open); event.preventDefault(); }
      return;
    }
    if (typing(event.target)) return;
    var done = false;
    switch (event.key) {
      case "j": done = move(1); break;
      case "k": done = move(-1); break;
      case "h": case "l": done = follow(document.querySelector('a[data-key="' + event.key + '"]')); break;
      case "/": done = searchBox(); break;
      case "?": helpDialog().showModal(); done = true; break;
      case "Enter":
        // A focused link or button opens itself; Enter on the page opens the selected error.
        if (!event.target.closest || !event.target.closest("a, button, summary, [tabindex]")
            || event.target.closest("dialog:not([open])")) {
          done = follow(document.querySelector("#error-table tr." + SELECTED + " a.error-title"));
        }
        break;
    }
    if (done) event.preventDefault();
  });
})();
