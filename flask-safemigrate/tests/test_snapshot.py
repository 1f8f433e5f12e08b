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


def test_code_in_a_snapshot_line_never_runs(tmp_path):
    marker = tmp_path / "ran"
    for line in [f"__import__('os').system('touch {marker}')",
                 f"column('x', sa.text.__globals__['__builtins__']['__import__']('os').system('touch {marker}'))",
                 f"table((lambda: open('{marker}', 'w'))())"]:
        with pytest.raises(snapshot.SnapshotError, match=r"^schema.txt:1: cannot read"):
            snapshot.load(line + "\n")
    assert not marker.exists()


def test_the_seal_covers_the_heads_and_every_line(tmp_path):
    migration = tmp_path / "a1_first.py"
    migration.write_text('revision = "a1"\ndown_revision = None\n')
    body = snapshot.render(_schema())
    sealed = snapshot.Snapshot(["a1"], None, body).sealed_for([migration])
    assert sealed.is_for([migration])
    for edited in (snapshot.Snapshot(["a0"], sealed.digest, body),
                   snapshot.Snapshot(["a1"], sealed.digest, body.replace("    unique('uq_shop_name', 'name')\n", ""))):
        assert not edited.is_for([migration])
    migration.write_text('revision = "a1"\ndown_revision = None\n# edited\n')
    assert not sealed.is_for([migration])


def test_a_file_edited_just_after_it_was_read_has_its_new_checksum(tmp_path):
    """The revision index keys a file by size and modification time; an edit of the same size
    right after a read (a file system that keeps whole seconds, or a quick edit) must not get
    the old entry's checksum."""
    import os
    import time

    from flask_safemigrate.migrate_tools import checksum, revision_index

    path = tmp_path / "versions" / "a1_first.py"
    path.parent.mkdir()
    path.write_text('revision = "a1"\ndown_revision = None\nx = 1\n')
    old = time.time() - 60
    os.utime(path, (old, old))
    index = revision_index.FolderIndex(path.parent)
    first = index.checksum(path)
    path.write_text('revision = "a1"\ndown_revision = None\nx = 2\n')  # same size, now
    assert index.checksum(path) == checksum.file_checksum(path) != first
