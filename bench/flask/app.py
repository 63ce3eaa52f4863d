"""The benchmarked Flask app: each request reads the session's counter and writes it back plus one.

BACKEND=sessiond keeps sessions in sessiond (SESSIOND_ADDR) through sessiond.flask; BACKEND=redis
keeps them in Redis (REDIS_PORT on 127.0.0.1) through Flask-Session.
"""

from __future__ import annotations

import os

import flask

app = flask.Flask(__name__)
app.secret_key = "bench secret"
if os.environ["BACKEND"] == "sessiond":
    import sessiond
    from sessiond.flask import SessiondSessionInterface

    app.session_interface = SessiondSessionInterface(
        sessiond.Client(os.environ["SESSIOND_ADDR"]), secure=False
    )
else:
    import redis
    from flask_session import Session

    app.config.update(
        SESSION_TYPE="redis",
        SESSION_REDIS=redis.Redis(host="127.0.0.1", port=int(os.environ["REDIS_PORT"])),
    )
    Session(app)


@app.get("/")
def hit() -> str:
    visits = flask.session.get("visits", 0)
    flask.session["visits"] = visits + 1
    return str(visits)
