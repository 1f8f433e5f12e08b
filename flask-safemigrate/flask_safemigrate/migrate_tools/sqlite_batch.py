"""SQLite batch rebuilds convert date and time values instead of CASTing them.

A batch rebuild copies a column whose type changes with CAST(value AS <new type>). SQLite
gives DATE, DATETIME and TIME numeric affinity, so CAST('2020-01-01' AS DATETIME) is 2020:
every value of the column is lost, silently (alembic#1033, open; Alembic has no hook for it,
so this impl takes the place of its SQLite one). SQLAlchemy stores these types as ISO text.
"""
from alembic.ddl.sqlite import SQLiteImpl
from sqlalchemy import func, type_coerce, types

# SQLAlchemy's SQLite storage format for DateTime: "YYYY-MM-DD HH:MM:SS.ffffff".
MIDNIGHT = " 00:00:00.000000"


class SQLiteBatchImpl(SQLiteImpl):
    __dialect__ = "sqlite"

    def cast_for_batch_migrate(self, existing, existing_transfer, new_type):
        new, old = new_type._type_affinity, existing.type._type_affinity
        if not issubclass(new, (types.Date, types.DateTime, types.Time)):
            return super().cast_for_batch_migrate(existing, existing_transfer, new_type)
        value = existing_transfer["expr"]
        if old is types.Date and new is types.DateTime:
            existing_transfer["expr"] = type_coerce(value, types.String()).concat(MIDNIGHT)  # NULL stays NULL
        elif old is types.DateTime and new is types.Date:
            existing_transfer["expr"] = func.substr(value, 1, 10)
        # Otherwise the text is copied as it is: any CAST to these types would destroy it.
