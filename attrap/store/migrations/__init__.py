"""Alembic migrations of attrap's database (applied by ``attrap db upgrade`` and on start)."""
