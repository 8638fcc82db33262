"""Alembic environment: migrations run on the connection attrap.store.db hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.exc import ArgumentError

from attrap.store.db import Base

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the alembic command line
    url = config.get_main_option("sqlalchemy.url")
    if url is None:  # create_engine(None)'s error, naming the missing setting
        raise ArgumentError("Expected string or URL object, got None (no sqlalchemy.url is set)")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
