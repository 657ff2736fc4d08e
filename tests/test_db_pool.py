"""The connection pool replaces connections the server has closed before a request uses them (resourcemap/db.py
checks the socket instead of pinging on every checkout)."""
from __future__ import annotations

import time

from sqlalchemy import text


def test_a_connection_the_server_closed_is_replaced_before_a_request_uses_it(app, client):
    engine = app.extensions["resourcemap.engine"]
    engine.dispose()
    keeper = engine.connect()
    victim = engine.connect()
    victim_pid = victim.execute(text("SELECT pg_backend_pid()")).scalar()
    victim.close()  # back into the pool, idle
    assert keeper.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim_pid}).scalar() is True
    keeper.close()
    time.sleep(0.2)
    # Both pooled connections are handed out; the closed one must be replaced, not fail the request.
    for _ in range(4):
        response = client.get("/api/v1/health")
        assert response.status_code == 200, response.json
        assert response.json == {"status": "ok", "database": "ok"}
    with engine.connect() as conn:
        alive = set(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"))
                    .scalars())
    assert victim_pid not in alive

