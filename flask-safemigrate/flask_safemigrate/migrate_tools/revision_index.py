"""An index of the migration files' headers, so a long history is read without running each file.

Alembic imports every file in versions/ to learn its revision, down_revision and summary, and
does so for each ScriptDirectory a command makes: at 1,000 revisions that was most of what
newmigration and db status cost. The index keeps what a file's header says (read with `ast`, as
history.check_files reads it), keyed by the file's size and modification time, in
versions/__pycache__/ beside Python's own caches. A file whose header is all literals gets a
deferred module: Alembic sees its revision, down_revision, branch labels, dependencies and
docstring, and the file itself runs only when something else of it is asked for (upgrade(),
downgrade()). A file that changed, or whose header is not literal, is imported as Alembic does.
"""
import ast
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from alembic.script import Script, ScriptDirectory
from alembic.util import load_python_file

from .checksum import file_checksum

FILE = "safemigrate-revisions.json"
HEADER = ("revision", "down_revision", "branch_labels", "depends_on")
VERSION = 1

_folders = {}  # folder -> its FolderIndex, for every ScriptDirectory of this process


class FolderIndex:
    """The headers of one versions folder's files, read from the index or from the files."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.file = self.folder / "__pycache__" / FILE
        self.changed = False
        try:
            stored = json.loads(self.file.read_text(encoding="utf-8"))
            self.entries = stored["files"] if stored.get("version") == VERSION else {}
            self.digests = dict(stored.get("digests", {})) if stored.get("version") == VERSION else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self.entries, self.digests = {}, {}  # none yet, or unreadable: rebuilt from the files

    def header(self, path, stamp=None):
        """{"names": literal module-level names, "unknown": names set otherwise, "doc": docstring}
        of the file (whose [size, mtime_ns] is `stamp`, if known), or None when it cannot be parsed."""
        path = Path(path)
        if stamp is None:
            try:
                stat = path.stat()
            except OSError:
                return None
            stamp = [stat.st_size, stat.st_mtime_ns]
        entry = self.entries.get(path.name)
        if entry is None or entry.get("stamp") != stamp or _racy(stamp):
            entry = {"stamp": stamp, **(read_header(path) or {"unparsable": True})}
            if not _racy(stamp):
                self.entries[path.name] = entry
                self.changed = True
        return None if entry.get("unparsable") else entry

    def checksum(self, path):
        """The file's checksum (checksum.file_checksum), kept with its header."""
        try:
            stat = Path(path).stat()
        except OSError:
            return file_checksum(path)  # which says why it cannot be read
        stamp = [stat.st_size, stat.st_mtime_ns]
        self.header(path, stamp)  # the entry, for the file as it is now
        entry = self.entries.get(Path(path).name)
        if entry is None or entry["stamp"] != stamp or _racy(stamp):  # unreadable or just written
            return file_checksum(path)
        if "checksum" not in entry:
            entry["checksum"] = file_checksum(path)
            self.changed = True
        return entry["checksum"]

    def save(self):
        """Write the index if it changed; a folder that cannot be written keeps no index."""
        if not self.changed:
            return
        self.changed = False
        try:
            self.file.parent.mkdir(exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.file.parent, prefix=".safemigrate-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"version": VERSION, "files": self.entries, "digests": self.digests}, out)
            os.replace(temporary, self.file)
        except OSError:
            pass


# A file changed within this many nanoseconds of being read may change again with the same size
# and modification time (a file system that keeps whole seconds): its entry is not kept, as git
# does not trust an index entry as new as the index ("racy git").
RACY_NS = 3 * 10**9


def _racy(stamp):
    return time.time_ns() - stamp[1] < RACY_NS


def folder_index(folder):
    key = str(folder)
    if key not in _folders:
        _folders[key] = FolderIndex(folder)
    return _folders[key]


def checksum(path):
    """A migration file's checksum, computed once while the file stays as it is (save() keeps it)."""
    return folder_index(Path(path).parent).checksum(path)


def remembered(paths, kind, compute):
    """`compute(paths)` (a JSON-able fact about the files: their digest, that they were checked),
    kept in the index of their folder under `kind` and the files' names, sizes and modification
    times, so it is computed once while they stay as they are (never for files changed in the
    last seconds). An exception from `compute` is raised each time, and nothing is kept."""
    paths = sorted(map(Path, paths), key=lambda p: p.name)
    stamps = []
    for path in paths:
        stat = path.stat()
        stamps.append([str(path), stat.st_size, stat.st_mtime_ns])
    if not paths or any(_racy(stamp[1:]) for stamp in stamps):
        return compute(paths)
    index = folder_index(paths[0].parent)
    key = hashlib.sha256(json.dumps([kind, stamps]).encode()).hexdigest()
    if key not in index.digests:
        index.digests = {**dict(list(index.digests.items())[-15:]), key: compute(paths)}  # the last few
        index.changed = True
        index.save()
    return index.digests[key]


def save():
    """Write back the indexes that changed."""
    for index in _folders.values():
        index.save()


def names(path):
    """The module-level names a migration file sets: {name: literal value, or UNKNOWN}; None
    when it cannot be parsed."""
    header = folder_index(Path(path).parent).header(path)
    if header is None:
        return None
    return {**header["names"], **{name: UNKNOWN for name in header["unknown"]}}


UNKNOWN = object()  # a name the module sets to something that is not a literal


def read_header(path):
    """What the index keeps of one file, read with `ast` (the file is not run)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    literal, unknown = {}, []
    statements = list(tree.body)
    while statements:
        node = statements.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):  # Alembic's newer template: down_revision: ... = "x"
            targets, value = [node.target], node.value
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            unknown += [(a.asname or a.name).split(".")[0] for a in node.names]
            continue
        else:  # an if/try/with at module level may set names too
            statements += [n for n in ast.iter_child_nodes(node) if isinstance(n, ast.stmt)]
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                found = _literal(value)
                if found is UNKNOWN:
                    unknown.append(target.id)
                    literal.pop(target.id, None)
                else:
                    literal[target.id] = found
                    if target.id in unknown:
                        unknown.remove(target.id)
    return {"names": literal, "unknown": unknown, "doc": ast.get_docstring(tree, clean=False)}


def _literal(node):
    """A JSON-able literal (what a header holds), or UNKNOWN."""
    try:
        value = ast.literal_eval(node) if node is not None else UNKNOWN
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return UNKNOWN
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        return list(value)
    return UNKNOWN


class DeferredModule:
    """A migration module known by its header; the file runs when more of it is asked for."""

    def __init__(self, path, header):
        self.__doc__ = header["doc"]
        self.__file__ = str(path)
        for name in HEADER:
            value = header["names"].get(name)
            setattr(self, name, tuple(value) if isinstance(value, list) else value)

    def __getattr__(self, name):
        # Dunders, and what Alembic only probes for (Script.longdoc's _alembic_source_encoding,
        # which no module of today has), are not worth running the file for.
        if name.startswith(("__", "_alembic")):
            raise AttributeError(name)
        path = Path(self.__file__)
        module = load_python_file(str(path.parent), path.name)
        self.__dict__.update({k: v for k, v in vars(module).items() if k not in ("__name__", "__doc__")})
        return getattr(module, name)


_from_path = Script._from_path.__func__
_load_revisions = ScriptDirectory._load_revisions


def _indexed_from_path(cls, scriptdir, path, stamp=None):
    """Alembic's Script._from_path, from the index when the file's header is all literal."""
    path = Path(path)
    if not scriptdir.sourceless and path.suffix == ".py" and not path.name.startswith((".#", "__")):
        header = folder_index(path.parent).header(path, stamp)
        if header and isinstance(header["names"].get("revision"), str) and \
                not any(name in header["unknown"] for name in HEADER) and \
                all(name in header["names"] for name in ("revision", "down_revision")):
            return cls(DeferredModule(path, header), header["names"]["revision"], path)
    return _from_path(cls, scriptdir, path)


_scripts = {}  # version locations -> (their listing's stamp, the Scripts read from them)


def _indexed_load_revisions(self):
    """Alembic's ScriptDirectory._load_revisions, from the index's headers, read once per process
    while the files stay as they are (each command makes several ScriptDirectories; Alembic
    reads every file for each)."""
    if self.sourceless or self.recursive_version_locations:
        yield from _load_revisions(self)  # Alembic's own walk: .pyc files, sub-folders
        return
    locations = [location for location in self._version_locations if location.exists()]
    key = tuple(str(location) for location in locations)
    stamp = _listing(locations)
    known = _scripts.get(key)
    if known is None or known[0] != stamp:
        scripts = []
        for location, files in zip(locations, stamp):
            folder = location.resolve()
            for name, size, mtime in files or ():
                if not name.startswith((".#", "__init__")):
                    script = _indexed_from_path(Script, self, folder / name, [size, mtime])
                    if script is not None:
                        scripts.append(script)
        known = _scripts[key] = (stamp, scripts)
        save()
    yield from known[1]


def _stamp(stat):
    return stat.st_size, stat.st_mtime_ns


def _listing(locations):
    """Each version location's files with their sizes and modification times."""
    listed = []
    for location in locations:
        try:
            with os.scandir(location) as entries:
                listed.append(sorted((e.name, *_stamp(e.stat())) for e in entries if e.name.endswith(".py")))
        except OSError:
            listed.append(None)
    return listed


def install():
    """Read Alembic's migration files through the index (once, when the db commands register)."""
    Script._from_path = classmethod(_indexed_from_path)
    ScriptDirectory._load_revisions = _indexed_load_revisions
