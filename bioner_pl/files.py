"""Files someone else may have made (a checkpoint, an export folder, a run directory, a leftover
output): read as data, never trusted. Regular files only, links not followed where we write, sizes
checked before memory is spent, paths kept inside the folder they belong to, and structures
walked within a budget before anything expands them. Every refusal is an InputError: one line."""

from __future__ import annotations

import json
import os
import pickle
import stat
import zipfile
from pathlib import Path

import torch

from bioner_pl.errors import InputError, first_line, refused_pickle

MiB = 1 << 20


def regular_file(path: Path, max_bytes: int | None = None, what: str = "file") -> int:
    """The size of `path`, which must be a regular file (not a FIFO, a device or a folder) of at
    most `max_bytes`; following a link is fine here, where the user named the path."""
    try:
        info = path.stat()
    except OSError as err:
        raise InputError(f"{what} not found ({err.strerror})", path) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} is not a regular file; refused", path)
    if max_bytes is not None and info.st_size > max_bytes:
        raise InputError(f"{what} is {info.st_size:,} bytes, more than the {max_bytes:,} allowed; refused", path)
    return info.st_size


def inside(folder: Path, name: str, what: str = "file") -> Path:
    """folder/name, resolved; it must lie inside `folder` (no '..', no absolute path, no link out)."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise InputError(f"{what} {name!r} lies outside its folder; refused", folder)
    return path


def read_json(path: Path, max_bytes: int, what: str = "file"):
    """A JSON file of at most `max_bytes`, parsed; anything else is one line."""
    regular_file(path, max_bytes, what)
    try:
        return json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{what} is not JSON ({first_line(err)})", path) from None
    except RecursionError:
        raise InputError(f"{what} nests too deeply to be ours; refused", path) from None


def check_budget(value, path: object, max_nodes: int, max_depth: int = 32) -> None:
    """Walk plain data (dicts and lists; anything else is a leaf) as a tree, counting
    every visit: shared references count each time, so a small pickle or JSON whose references
    expand into billions of leaves is refused before anything (a schema check, a copy) expands it."""
    stack, nodes = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise InputError(f"holds more than {max_nodes:,} values; refused before expanding them", path)
        if depth > max_depth:
            raise InputError(f"nests deeper than {max_depth} levels; refused", path)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for pair in item.items() for v in pair)
        elif isinstance(item, (list, tuple)):
            stack.extend((v, depth + 1) for v in item)


def open_own(path: Path, mode: str = "ab"):
    """Open a file of ours to append or rewrite: a link or anything but a regular file where it
    should be is refused (a leftover replaced by a link would send our bytes elsewhere)."""
    flags = {"ab": os.O_WRONLY | os.O_APPEND | os.O_CREAT, "r+b": os.O_RDWR, "rb": os.O_RDONLY,
             "a": os.O_WRONLY | os.O_APPEND | os.O_CREAT, "wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
             "w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC}[mode]
    try:  # O_NOFOLLOW: a link is an error; O_NONBLOCK: a FIFO does not hang the open
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as err:
        raise InputError(f"cannot open it as a file of ours ({err.strerror}); a link or a special file "
                         "is refused", path) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError("is not a regular file; refused", path)
    os.set_blocking(fd, True)
    return os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"}))


def load_torch_file(path: Path, max_values: int = 4_000_000):
    """A file torch.save wrote (a checkpoint), as plain data and tensors: torch's weights-only
    unpickler (nothing in the file can run), memory-mapped, after checking that its zip holds no
    compressed entry that could inflate (torch never compresses), and walked within a budget."""
    size = regular_file(path, what="checkpoint")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise InputError(f"not a PyTorch checkpoint ({first_line(err)})", path) from None
    if any(e.compress_type != zipfile.ZIP_STORED or e.file_size > size for e in entries):
        raise InputError("not a PyTorch checkpoint: it holds compressed entries, which torch never writes; refused", path)
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as err:
        raise refused_pickle(err, path) from None
    except RecursionError:
        raise InputError("not a PyTorch checkpoint: it nests too deeply; refused", path) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, AttributeError, KeyError, TypeError) as err:
        raise InputError(f"not a PyTorch checkpoint ({type(err).__name__}: {first_line(err)})", path) from None
    check_budget(raw, path, max_values)
    return raw


# A record (a line, a document, an XML element) larger than this is refused before it is read
# whole: far above a PubMed abstract (~2 KB) or a PMC full text (~100 KB to a few MB).
MAX_RECORD_BYTES = 64 * MiB


def bounded_lines(binary, limit: int = MAX_RECORD_BYTES):
    """(line number, bytes) of a binary file, read in bounded pieces: a line longer than `limit`
    comes as (number, None), skipped without ever being held whole, and reading goes on."""
    number = 0
    while raw := binary.readline(limit + 1):
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # the rest of it, a piece at a time
                raw = binary.readline(MiB)
            yield number, None
            continue
        yield number, raw


class RecordTooLarge(Exception):
    """Raised by BoundedReader: more than `limit` bytes read since the last record ended."""


class BoundedReader:
    """A file object for a streaming parser (lxml's iterparse) that refuses to read more than
    `limit` bytes since the caller last said a record ended (`record_ended`): one huge element
    cannot fill memory before the parser hands it over."""

    def __init__(self, binary, limit: int = MAX_RECORD_BYTES):
        self.binary, self.limit, self.since = binary, limit, 0

    def read(self, size: int = -1) -> bytes:
        piece = max(1, min(MiB, self.limit // 4))  # a parser reads ahead: a piece's worth at most
        data = self.binary.read(min(size, piece) if size and size > 0 else piece)
        self.since += len(data)
        if self.since > self.limit:
            raise RecordTooLarge(self.limit)
        return data

    def record_ended(self) -> None:
        self.since = 0
