"""Make every SQLite transaction of the test cloud take the write lock up front.

oslo.db opens each transaction with a plain (deferred) BEGIN. Under concurrent writers
(nova-api, -conductor, -compute on one file) a transaction that reads first and writes
later gets SQLITE_BUSY at once, which no busy timeout helps: "database is locked".
BEGIN IMMEDIATE makes writers queue on the busy timeout instead. Loaded at interpreter
start-up from a .pth file that cloud.sh puts into the server venv only, and active only
in processes started with Q8S_SQLITE_IMMEDIATE=1 (nova and placement: keystone nests
transactions on two connections in one thread, which BEGIN IMMEDIATE would deadlock).
"""

import os
import sqlite3
import sqlite3.dbapi2

_connect = sqlite3.dbapi2.connect


class _Cursor(sqlite3.Cursor):
    def execute(self, sql, *args):
        if isinstance(sql, str) and sql.strip().upper() == "BEGIN":
            sql = "BEGIN IMMEDIATE"
        return super().execute(sql, *args)


class _Connection(sqlite3.Connection):
    def cursor(self, factory=_Cursor):
        return super().cursor(factory)


def _immediate_connect(*args, **kwargs):
    kwargs.setdefault("factory", _Connection)
    return _connect(*args, **kwargs)


if os.environ.get("Q8S_SQLITE_IMMEDIATE") == "1":
    # SQLAlchemy's pysqlite dialect uses sqlite3.dbapi2.connect
    sqlite3.connect = sqlite3.dbapi2.connect = _immediate_connect
