// newswire console: sort and filter tables in place, refresh the overview.
// Every page works without this script: sorting and filtering are links
// and a form the server answers. Nothing here writes HTML from strings
// (no innerHTML): rows are moved, hidden and shown, and a refreshed
// section is a node parsed from this server's own escaped page.
"use strict";

function cellValue(row, index) {
  const cell = row.cells[index];
  const v = cell ? cell.dataset.v : "";
  return v === undefined ? "" : v;
}

function compareValues(a, b) {
  const x = Number(a), y = Number(b);
  if (a !== "" && b !== "" && !Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  return a.localeCompare(b);
}

// A table whose rows are all on the page sorts itself when a heading is
// clicked; the heading's link (the server's sort) is the fallback.
function sortable(table) {
  if (table.dataset.complete !== "true") return;
  const headings = Array.from(table.tHead.rows[0].cells);
  headings.forEach(function (th, index) {
    const link = th.querySelector("a");
    if (!link) return;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      const descending = th.getAttribute("aria-sort") === "ascending";
      const body = table.tBodies[0];
      const rows = Array.from(body.rows);
      rows.sort(function (a, b) {
        const order = compareValues(cellValue(a, index), cellValue(b, index)) ||
          cellValue(a, 0).localeCompare(cellValue(b, 0));
        return descending ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      headings.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      history.replaceState(null, "", link.href);
    });
  });
}

// The filter box hides rows as one types, when the table is complete.
function filterable(form, table) {
  if (table.dataset.complete !== "true") return;
  const input = form.querySelector("input[name=q]");
  const status = form.querySelector("select[name=status]");
  const count = document.getElementById("count");
  function apply() {
    const q = input.value.trim().toLowerCase();
    const wanted = status ? status.value : "";
    let shown = 0;
    Array.from(table.tBodies[0].rows).forEach(function (row) {
      const text = Array.from(row.cells).map(function (c) { return c.textContent; }).join(" ").toLowerCase();
      const visible = (q === "" || text.includes(q)) && (wanted === "" || row.dataset.status === wanted);
      row.hidden = !visible;
      if (visible) shown += 1;
    });
    if (count) count.textContent = shown + " of " + table.tBodies[0].rows.length + " feeds shown";
  }
  input.addEventListener("input", apply);
  if (status) status.addEventListener("change", apply);
}

// A section marked data-refresh="N" is fetched again every N seconds and
// swapped for the new one, while the tab is visible.
function refreshing(section) {
  const seconds = Number(section.dataset.refresh);
  if (!(seconds > 0)) return;
  let current = section;
  setInterval(function () {
    if (document.hidden) return;
    fetch(location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) {
        if (text === null) return;
        const fresh = new DOMParser().parseFromString(text, "text/html").querySelector("[data-refresh]");
        if (fresh) {
          const node = document.importNode(fresh, true);
          current.replaceWith(node);
          current = node;
        }
      })
      .catch(function () { /* the next tick tries again */ });
  }, seconds * 1000);
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table.sortable").forEach(sortable);
  const form = document.querySelector("form.filter");
  const table = document.getElementById("feeds");
  if (form && table) filterable(form, table);
  document.querySelectorAll("[data-refresh]").forEach(refreshing);
});
