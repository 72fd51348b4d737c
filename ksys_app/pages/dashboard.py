"""`/` Dashboard: KPI tiles (what needs attention first), latest snapshot, window control."""

from __future__ import annotations

import reflex as rx

from ksys_app.components.controls import button, controls_bar, group_select, pager, search_box, window_select
from ksys_app.components.kpi import kpi_grid, snapshot_table
from ksys_app.components.layout import content_states, status_line, tid
from ksys_app.components.text import t
from ksys_app.pages.template import page
from ksys_app.states.dashboard import DashboardState as S


def _tiles() -> rx.Component:
    has_tiles = S.tiles.length() > 0
    return rx.el.section(
        rx.el.div(rx.el.h2(t("dash.kpi"), S.window, class_name="section-title"),
                  rx.el.span(t("status.read"), S.tiles_time, t("status.every"), S.tiles_every_s, t("status.seconds"),
                             class_name="muted small",
                             custom_attrs=tid("tiles-time")),
                  class_name="section-head"),
        rx.cond(S.empty_reason != "",
                rx.el.div(S.empty_reason, class_name="empty-inline",
                          custom_attrs=tid("empty-state")),
                rx.el.span("")),
        rx.cond(has_tiles, kpi_grid(S.tiles),
                rx.cond(S.failed, rx.el.span(""),
                        rx.el.div(*[rx.el.div(class_name="kpi-tile sk-tile") for _ in range(3)],
                                  class_name="kpi-grid", custom_attrs=tid("skeleton")))),
        # more tags than one page of tiles: the rest a page at a time, abnormal ones first
        rx.cond(S.tile_pages > 1,
                pager(S.tile_page, S.tile_pages, S.tiles_prev, S.tiles_next, S.tile_total, "tiles",
                      unit_key="pager.tags"),
                rx.fragment()),
        class_name="card kpi-card",
    )


def _snapshot() -> rx.Component:
    has_snapshot = S.snapshot.length() > 0
    return rx.el.section(
        rx.el.div(rx.el.h2(t("dash.snapshot"), class_name="section-title"),
                  status_line(S, rx.cond(S.data_as_of != "",
                                         rx.el.span(t("status.data_as_of"), S.data_as_of, " · ",
                                                    class_name="muted small", custom_attrs=tid("data-as-of"),
                                                    title=t("dash.newest_title")),
                                         rx.el.span("")),
                              rx.el.span(t("status.read"), S.snapshot_time, t("status.every"), S.snapshot_every_s,
                                         t("status.seconds"),
                                         class_name="muted small",
                                         custom_attrs=tid("snapshot-time")),
                              show_time=False),
                  class_name="section-head"),
        search_box(S.search_draft, S.set_search_draft, S.apply_search, S.clear_search, "snapshot", "dash.search"),
        # The snapshot does not depend on the window: empty only when no tag has a reading
        # (or, with a search, none matches).
        content_states(S, snapshot_table(S.snapshot), has_snapshot, lines=4,
                       empty_when=~has_snapshot,
                       empty_text=rx.cond(S.search != "", t("dash.no_match"), t("dash.no_latest"))),
        pager(S.snap_page, S.snap_pages, S.snapshot_prev, S.snapshot_next, S.snap_total, "snapshot"),
        class_name="card snapshot-card",
    )


@page("/", nav="Dashboard", heading="Dashboard", state=S, order=1)
def dashboard() -> tuple[rx.Component, ...]:
    # The tiles first (abnormal ones first, states.dashboard): on the 800 x 480
    # touchscreen they are what fits above the fold; the snapshot table follows.
    return (
        controls_bar(window_select(S),
                     rx.cond(S.group_options.length() > 0, group_select(S), rx.fragment()),
                     button(t("btn.refresh"), S.refresh, "refresh-btn")),
        _tiles(),
        _snapshot(),
    )
