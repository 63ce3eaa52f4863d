"""The benchmarked Flask app: `GET /` reads the session's counter and writes it back plus one;
`GET /read` only reads it.

BACKEND=sessiond keeps sessions in sessiond (SESSIOND_ADDR) through sessiond.flask, with a near
cache of NEAR_CACHE_MAX_BYTES (0: none); BACKEND=redis keeps them in Redis (REDIS_PORT on
127.0.0.1) through Flask-Session.
"""

from __future__ import annotations

import os

import flask

app = flask.Flask(__name__)
app.secret_key = "bench secret"
if os.environ["BACKEND"] == "sessiond":
    import sessiond
    from sessiond.flask import SessiondSessionInterface

    client = sessiond.Client(os.environ["SESSIOND_ADDR"])
    app.session_interface = SessiondSessionInterface(
        client,
        secure=False,
        near_cache_max_bytes=int(os.environ["NEAR_CACHE_MAX_BYTES"]),
    )

    @app.get("/near-cache")
    def near_cache() -> dict[str, int]:
        """The near cache's hits and misses so far (both 0 without one), for the benchmark."""
        stats = client.near_cache_stats()
        return {
            "hits": stats.hits if stats else 0,
            "misses": stats.misses if stats else 0,
        }

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


@app.get("/read")
def read() -> str:
    return str(flask.session.get("visits", 0))
