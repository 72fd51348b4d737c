"""What the layout tests measure in the page: sideways scroll, small touch targets."""

from __future__ import annotations

# Everything a finger may need to hit. An input is hit through its label when it has
# one (the checkbox's label is its target); elements not drawn (display: none,
# visibility: hidden, zero size) are skipped, and so are those hidden from people on
# purpose (aria-hidden and no pointer events: a field only scripts write, /trend's zoom).
SMALL_TARGETS_JS = """
(min) => {
  const seen = new Set();
  const out = [];
  const sel = 'a[href], button, select, input, label, [role=gridcell], [role=button]';
  for (const el of document.querySelectorAll(sel)) {
    const t = (el.tagName === 'INPUT' && el.labels && el.labels.length) ? el.labels[0] : el;
    if (seen.has(t)) continue;
    seen.add(t);
    const r = t.getBoundingClientRect();
    const s = getComputedStyle(t);
    if (r.width === 0 || r.height === 0 || s.visibility === 'hidden') continue;
    if (t.closest('[aria-hidden=true]') && s.pointerEvents === 'none') continue;
    if (Math.round(r.width) >= min && Math.round(r.height) >= min) continue;
    const id = t.getAttribute('data-testid') || t.id || t.className || '';
    const text = (t.innerText || t.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ').slice(0, 24);
    out.push(`${t.tagName.toLowerCase()}[${id}] "${text}" ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  return out;
}
"""

SIDEWAYS_JS = """
() => {
  const d = document.documentElement;
  const wide = Array.from(document.body.querySelectorAll('*'))
    .filter(e => e.getBoundingClientRect().right > d.clientWidth + 1)
    .filter(e => !e.closest('.table-wrap, .heatmap'))  // these scroll inside their box
    .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${e.className}`);
  return {scrollWidth: d.scrollWidth, clientWidth: d.clientWidth, wide};
}
"""


def small_targets(page, min_px: int = 44) -> list[str]:
    return page.evaluate(SMALL_TARGETS_JS, min_px)


def sideways(page) -> dict:
    return page.evaluate(SIDEWAYS_JS)


def summarize(violators: list[str], limit: int = 25) -> str:
    """The first violators, and how many there are (720 heatmap cells would drown the message)."""
    head = "\n  ".join(violators[:limit])
    more = f"\n  ... and {len(violators) - limit} more" if len(violators) > limit else ""
    return f"{len(violators)} targets under 44 x 44 px:\n  {head}{more}"
