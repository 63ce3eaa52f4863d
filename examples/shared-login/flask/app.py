"""The Flask half of the shared-login example: one browser login shared with the Express app.

The Express app sets the string entry `user` at login; this app shows it, keeps a cart (json entry
`cart`, a list of strings) and logs out. Both use the cookie `sessiond` signed with the same
secret (docs/COOKIES.md). Configuration from the environment: SESSIOND_ADDR (host:port),
SESSION_SECRET, COOKIE_SECURE (0 for plain http in local runs).
"""

from __future__ import annotations

import os

import flask

import sessiond
from sessiond.flask import SessiondSessionInterface, end_session

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Flask</title></head>
<body>
<p id="user">{{ user }}</p>
<ul id="cart">{% for item in cart %}<li>{{ item }}</li>{% endfor %}</ul>
<form method="post" action="/flask/cart">
  <input name="item" id="item"><button type="submit" id="add">Add</button>
</form>
<form method="post" action="/flask/logout"><button type="submit" id="logout">Log out</button></form>
</body></html>
"""

app = flask.Flask(__name__)
app.secret_key = os.environ["SESSION_SECRET"]
app.session_interface = SessiondSessionInterface(
    sessiond.Client(os.environ["SESSIOND_ADDR"]),
    secure=os.environ.get("COOKIE_SECURE", "1") != "0",
)


def cart() -> list[str]:
    """The cart entry if it is a list of strings; an empty list otherwise."""
    items = flask.session.get("cart")
    return [item for item in items if isinstance(item, str)] if isinstance(items, list) else []


@app.get("/flask/")
def index() -> str:
    user = flask.session.get("user")
    return flask.render_template_string(
        PAGE, user=user if isinstance(user, str) else "anonymous", cart=cart()
    )


@app.post("/flask/cart")
def add_to_cart() -> flask.Response:
    flask.session["cart"] = [*cart(), flask.request.form["item"]]
    return flask.redirect("/flask/", 303)


@app.post("/flask/logout")
def logout() -> flask.Response:
    end_session()
    return flask.redirect("/flask/", 303)
