"""Alembic's migrations (versions/), its environment (env.py), and the database code in force
(database_code.py, database_code.sql)."""
from sqlalchemy import Connection


def lift_statement_timeout(conn: Connection) -> None:
    """No statement timeout for the rest of this transaction: migrations may rewrite big tables."""
    conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
