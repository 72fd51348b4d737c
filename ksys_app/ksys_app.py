"""The Reflex app: routes and the page shell."""

import reflex as rx


def index() -> rx.Component:
    return rx.heading("ksys")


app = rx.App()
app.add_page(index, route="/", title="ksys")
