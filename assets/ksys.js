// Keyboard use of the /comm heatmap: Enter / Space select the focused cell,
// arrow keys move between cells (left/right = previous/next day, up/down = hour).
// Cells carry data-row (hour 0..23), data-col (day 0..29) and id "cell-<col*24+row>".
(function () {
  if (window.__ksysHeatmapKeys) return;
  window.__ksysHeatmapKeys = true;
  document.addEventListener("keydown", function (ev) {
    var cell = ev.target;
    if (!cell || !cell.classList || !cell.classList.contains("hm-cell")) return;
    var row = parseInt(cell.getAttribute("data-row"), 10);
    var col = parseInt(cell.getAttribute("data-col"), 10);
    if (ev.key === "Enter" || ev.key === " " || ev.key === "Spacebar") {
      ev.preventDefault();
      cell.click();
      return;
    }
    var moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    var m = moves[ev.key];
    if (!m) return;
    ev.preventDefault();
    var r = row + m[0], c = col + m[1];
    if (r < 0 || r > 23 || c < 0) return;
    var next = document.getElementById("cell-" + (c * 24 + r));
    if (next) { next.focus(); next.click(); }
  });
})();
