"""MariaDB/MySQL: a foreign key's own index kept in step with the indexes on its columns.

MariaDB indexes a foreign key's columns itself (an index named after the key) unless another
index covers them, and gives that index up when one is created; dropping that other index
later fails ("needed in a foreign key constraint"). So, when the migration runs on MariaDB,
whatever backend it was written on: before an index a key needs is dropped, the key's own
index is created again; after an index is created, the key's own index on the same columns
goes, and so does the index a dropped key leaves behind (create_all would not have them). Done in the impl, where batch operations arrive too.
"""
from alembic.ddl.mysql import MariaDBImpl, MySQLImpl
from sqlalchemy import Column, ForeignKeyConstraint, Index, MetaData, Table, UniqueConstraint, inspect
from sqlalchemy.types import NullType

from .portable import cut


class _ForeignKeyIndexes:
    def create_index(self, index, **kw):
        super().create_index(index, **kw)
        self._drop_key_indexes_covered_by(index)

    def add_constraint(self, const, **kw):
        super().add_constraint(const, **kw)
        if isinstance(const, UniqueConstraint) and const.name:  # an index here, too
            self._drop_key_indexes_covered_by(const)

    def _drop_key_indexes_covered_by(self, index):
        """After `index` (or a unique constraint) is made, the own index of each key it serves
        goes, as create_all would not have it."""
        for key in self._keys_on(index):
            if key["name"] != self._name(index) and key["name"] in self._indexes(index.table.name):
                super().drop_index(Index(key["name"], _table=index.table))

    def drop_index(self, index, **kw):
        self._keep_key_indexes(index.table, self._name(index))
        super().drop_index(index, **kw)

    def _keep_key_indexes(self, table, name):
        """Before the index `name` goes (or the unique constraint, an index here), give each
        foreign key that needs it an index of its own, named after the key, as create_all."""
        if self.as_sql:
            return
        reflected = self._indexes(table.name)
        columns = reflected.get(name, [])
        for key in self._keys(table.name):
            needed = key["constrained_columns"]
            if key["name"] == name or columns[:len(needed)] != needed or any(
                    c[:len(needed)] == needed for n, c in reflected.items() if n != name):
                continue
            bare = Table(table.name, MetaData(), *[Column(c, NullType()) for c in needed],
                         schema=table.schema)
            super().create_index(Index(key["name"], *bare.c))

    def drop_constraint(self, const, **kw):
        if isinstance(const, UniqueConstraint) and const.name:
            self._keep_key_indexes(const.table, self._name(const))
        super().drop_constraint(const, **kw)
        # A dropped foreign key leaves its own index behind; create_all would not have it.
        if isinstance(const, ForeignKeyConstraint) and not self.as_sql and const.name:
            table, name = const.table.name, self._name(const)
            columns = self._indexes(table)
            needed = any(columns.get(name, [None])[:len(k["constrained_columns"])]
                         == k["constrained_columns"] for k in self._keys(table))
            if name in columns and not needed:
                super().drop_index(Index(name, _table=const.table))

    def _name(self, item):
        """The name of an index or constraint as the database has it (a convention name too
        long for MariaDB is cut, as SQLAlchemy cuts it in the DDL)."""
        return cut(item.name, self.dialect)

    def _keys_on(self, index):
        if self.as_sql:
            return []
        columns = [c.name for c in index.columns]
        return [k for k in self._keys(index.table.name)
                if k["constrained_columns"] == columns[:len(k["constrained_columns"])]]

    def _indexes(self, table):
        """The table's indexes as the database has them now: {name: columns}."""
        return {i["name"]: i["column_names"] for i in inspect(self.connection).get_indexes(table)}

    def _keys(self, table):
        return inspect(self.connection).get_foreign_keys(table)


class MySQLIndexImpl(_ForeignKeyIndexes, MySQLImpl):
    __dialect__ = "mysql"


class MariaDBIndexImpl(_ForeignKeyIndexes, MariaDBImpl):
    __dialect__ = "mariadb"
