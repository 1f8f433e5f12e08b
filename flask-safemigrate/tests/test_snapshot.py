"""The schema snapshot's text: what it writes of each kind of column and constraint, read back."""
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from flask_safemigrate import NAMING_CONVENTION
from flask_safemigrate.migrate_tools import snapshot


class UTCDateTime(sa.types.TypeDecorator):
    impl = sa.DateTime(timezone=True)
    cache_ok = True


class Elsewhere(sa.types.UserDefinedType):
    cache_ok = True

    def get_col_spec(self):
        return "ELSEWHERE"


def _schema(extra=()):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    sa.Table("shop", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("name", sa.String(80), nullable=False, server_default="new", comment="shown"),
             sa.UniqueConstraint("name"), comment="shops")
    sa.Table("item", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("shop_id", sa.ForeignKey("shop.id", ondelete="CASCADE"), nullable=False),
             sa.Column("kind", sa.Enum("a", "b", name="item_kind"), server_default=sa.text("'a'")),
             sa.Column("tags", postgresql.ARRAY(sa.String(20))), sa.Column("at", UTCDateTime()),
             sa.Column("price", sa.Numeric(10, 2)), sa.CheckConstraint("price > 0", name="positive"),
             sa.Index(None, "shop_id", "price", unique=True), *extra)
    return metadata


def test_every_kind_of_line_reads_back_as_it_was_written():
    text = snapshot.render(_schema())
    assert text.splitlines()[:3] == ["table('item')", "    column('id', sa.Integer(), nullable=False)",
                                     "    column('shop_id', sa.Integer(), nullable=False)"]
    for line in ["    column('kind', sa.Enum('a', 'b', name='item_kind'), server_default=sa.text(\"'a'\"))",
                 "    column('tags', postgresql.ARRAY(String(length=20)))",
                 "    column('at', sa.DateTime(timezone=True))",  # the app's type: what it stores
                 "    foreign_key('fk_item_shop_id_shop', ['shop_id'], 'shop', ['id'], ondelete='CASCADE')",
                 "    check('ck_item_positive', 'price > 0')",
                 "    index('ix_item_shop_id_price', ['shop_id', 'price'], unique=True)",
                 "table('shop', comment='shops')",
                 "    column('name', sa.String(length=80), nullable=False, server_default='new', comment='shown')",
                 "    unique('uq_shop_name', 'name')"]:
        assert line in text.splitlines(), line
    loaded = snapshot.load(text, NAMING_CONVENTION)
    assert snapshot.render(loaded) == text
    assert snapshot.describes(text, _schema()) and not snapshot.describes(text, sa.MetaData())


def test_a_line_it_cannot_read_is_named_with_the_fix():
    text = snapshot.render(_schema(extra=[sa.Column("odd", Elsewhere())]))
    number = text.splitlines().index(next(l for l in text.splitlines() if "'odd'" in l)) + 1
    with pytest.raises(snapshot.SnapshotError, match=rf"^schema.txt:{number}: cannot read .*Elsewhere.* is a"
                                                     r" type of another library\); write it again with `db snapshot`"):
        snapshot.load(text)
    with pytest.raises(snapshot.SnapshotError, match=r"^schema.txt:1: cannot read \"__import__\('os'\)\""):
        snapshot.load("__import__('os')\n")  # nothing but the snapshot's own calls and types
