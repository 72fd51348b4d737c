"""Plain data tables over list-of-lists vars (one page of rows at a time)."""

from __future__ import annotations

import reflex as rx

from ksys_app.components.layout import tid


def data_table(header: list, rows, testid: str, row_testid: str,
               numeric_from: int = 3, numbered: bool = True, compact: bool = False) -> rx.Component:
    """A table whose rows var holds lists of strings in `header` order.

    Columns from `numeric_from` on (and the "Num." column when `numbered`) are
    right-aligned; `compact` sizes the table to its content instead of the card.
    """

    def align(i: int) -> str:
        return "num" if i >= numeric_from or (numbered and i == 0) else ""

    def row(cells) -> rx.Component:
        return rx.el.tr(*[rx.el.td(cells[i], class_name=align(i)) for i in range(len(header))],
                        custom_attrs=tid(row_testid))

    return rx.el.div(
        rx.el.table(
            rx.el.thead(rx.el.tr(*[rx.el.th(h, scope="col", class_name=align(i))
                                   for i, h in enumerate(header)])),
            rx.el.tbody(rx.foreach(rows, row)),
            class_name="table compact" if compact else "table",
            custom_attrs=tid(testid),
        ),
        class_name="table-wrap",
    )
