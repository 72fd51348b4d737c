// Zoom on /trend's chart: drag across the plot to show that stretch, double-click to go
// back to the relative window (pages/trend.py renders the pieces; states/trend.py decides).
//
// The chart's wrapper (.zoomable) carries data-first-ms / data-last-ms, the times of its
// first and last point; the plot (.recharts-cartesian-grid) spans them left to right, so a
// drag from x0 to x1 is the times between, in proportion. The result goes to the server
// through the hidden input #zoom-request (React's onChange: the value is set with the
// input's native setter, which React's change tracking sees): "from_ms,to_ms" or "reset".
// The server answers with a new URL pushed onto the history, so Back returns.
(function () {
  if (window.__ksysZoom) return;
  window.__ksysZoom = true;
  var drag = null;  // {box, x0, band}

  function plotOf(target) {
    var wrap = target && target.closest ? target.closest(".zoomable") : null;
    var grid = wrap ? wrap.querySelector(".recharts-cartesian-grid") : null;
    return grid ? { wrap: wrap, box: grid.getBoundingClientRect() } : null;
  }
  function send(value) {
    var input = document.getElementById("zoom-request");
    if (!input) return;
    var setter = Object.getOwnPropertyDescriptor(window.HTMLInputElement.prototype, "value").set;
    setter.call(input, value);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function clampX(box, x) { return Math.max(box.left, Math.min(box.right, x)); }

  document.addEventListener("mousedown", function (e) {
    if (e.button !== 0) return;
    var plot = plotOf(e.target);
    if (!plot || e.clientX < plot.box.left || e.clientX > plot.box.right) return;
    var band = document.createElement("div");
    band.className = "zoom-band";
    band.setAttribute("data-testid", "zoom-band");
    plot.wrap.appendChild(band);
    drag = { plot: plot, x0: e.clientX, band: band };
    e.preventDefault();  // no text selection while dragging
  });
  document.addEventListener("mousemove", function (e) {
    if (!drag) return;
    var box = drag.plot.box, wrapBox = drag.plot.wrap.getBoundingClientRect();
    var a = clampX(box, Math.min(drag.x0, e.clientX)), b = clampX(box, Math.max(drag.x0, e.clientX));
    drag.band.style.left = (a - wrapBox.left) + "px";
    drag.band.style.width = (b - a) + "px";
    drag.band.style.top = (box.top - wrapBox.top) + "px";
    drag.band.style.height = box.height + "px";
  });
  document.addEventListener("mouseup", function (e) {
    if (!drag) return;
    var d = drag;
    drag = null;
    d.band.remove();
    var box = d.plot.box;
    var a = clampX(box, Math.min(d.x0, e.clientX)), b = clampX(box, Math.max(d.x0, e.clientX));
    if (b - a < 8) return;  // a click, not a drag
    var first = Number(d.plot.wrap.dataset.firstMs), last = Number(d.plot.wrap.dataset.lastMs);
    if (!(last > first)) return;
    var at = function (x) { return Math.round(first + (last - first) * (x - box.left) / box.width); };
    send(at(a) + "," + at(b));
  });
  document.addEventListener("dblclick", function (e) {
    if (plotOf(e.target)) send("reset");
  });
})();
