// Keyboard use of the /comm heatmap: the grid is ONE Tab stop (roving tabindex).
//
// Cells render with tabindex=-1 (class hm-cell, id "cell-<i>", i = day * 24 + hour,
// data-i = i) inside a .heatmap element. This script keeps exactly one cell of the
// grid at tabindex=0: the cell last focused, else (a new grid) the selected cell,
// the hour running now, or the first cell.
//   ArrowLeft / ArrowRight  previous / next hour (crossing midnight into the next day)
//   ArrowUp / ArrowDown     same hour, previous / next day
//   Home / End              first / last hour of the day (with Ctrl: first / last cell)
//   Enter / Space           click the cell: the page shows its detail
// Focus moves only; selecting is the click, as with the mouse.
(function () {
  if (window.__ksysHeatmapKeys) return;
  window.__ksysHeatmapKeys = true;
  var HOURS = 24;

  function isCell(el) {
    return !!(el && el.classList && el.classList.contains("hm-cell"));
  }

  // Make `cell` the grid's only Tab stop.
  function setStop(grid, cell) {
    var stops = grid.querySelectorAll('.hm-cell[tabindex="0"]');
    for (var i = 0; i < stops.length; i++) if (stops[i] !== cell) stops[i].setAttribute("tabindex", "-1");
    if (cell.getAttribute("tabindex") !== "0") cell.setAttribute("tabindex", "0");
  }

  // A grid rendered (or re-rendered) without a Tab stop gets one.
  function ensureStops() {
    var grids = document.querySelectorAll(".heatmap");
    for (var g = 0; g < grids.length; g++) {
      var grid = grids[g];
      if (grid.querySelector('.hm-cell[tabindex="0"]')) continue;
      var cell = grid.querySelector(".hm-cell.selected") || grid.querySelector(".hm-cell.hm-now") ||
        grid.querySelector(".hm-cell");
      if (cell) cell.setAttribute("tabindex", "0");
    }
  }
  new MutationObserver(ensureStops).observe(document.documentElement, { childList: true, subtree: true });

  // Focus by mouse or script moves the Tab stop too.
  document.addEventListener("focusin", function (ev) {
    if (isCell(ev.target)) setStop(ev.target.closest(".heatmap"), ev.target);
  });

  document.addEventListener("keydown", function (ev) {
    var cell = ev.target;
    if (!isCell(cell) || ev.altKey || ev.metaKey) return;
    if (ev.key === "Enter" || ev.key === " " || ev.key === "Spacebar") {
      ev.preventDefault();
      cell.click();
      return;
    }
    var grid = cell.closest(".heatmap");
    var last = grid.querySelectorAll(".hm-cell").length - 1;
    var i = parseInt(cell.getAttribute("data-i"), 10);
    var dayStart = i - (i % HOURS);
    var to = {
      ArrowLeft: i - 1,
      ArrowRight: i + 1,
      ArrowUp: i - HOURS,
      ArrowDown: i + HOURS,
      Home: ev.ctrlKey ? 0 : dayStart,
      End: ev.ctrlKey ? last : dayStart + HOURS - 1
    }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();  // no page scroll
    if (to < 0 || to > last) return;  // the edge of the grid: stay
    var next = document.getElementById("cell-" + to);
    if (!next) return;
    setStop(grid, next);
    next.focus();
  });
})();

// The theme this browser chose (states/display.py keeps it in localStorage under
// "ksys-theme"), put on <html> as soon as this script runs (the page mounting), not
// only once the state arrives over the websocket: a dark screen flashes white for
// less time on load (assets/ksys.css: html[data-theme=dark] .app). The switch calls
// ksysApplyTheme, and a choice made in another tab arrives as a storage event.
(function () {
  function apply(t) {
    if (t === "dark" || t === "light") document.documentElement.setAttribute("data-theme", t);
  }
  window.ksysApplyTheme = apply;
  try {
    apply(window.localStorage.getItem("ksys-theme"));
  } catch (e) { /* storage blocked: the setting's default theme shows */ }
  window.addEventListener("storage", function (e) {
    if (e.key === "ksys-theme") apply(e.newValue);
  });
})();
