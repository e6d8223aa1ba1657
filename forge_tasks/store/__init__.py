"""The store: SQLModel tables and the functions that read and write them.

Functions take an explicit ``Session`` as a keyword argument; the caller owns
the transaction, and no helper commits behind its back. It works on SQLite
(embedded mode) and PostgreSQL.
"""
