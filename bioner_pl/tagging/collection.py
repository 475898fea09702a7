"""Tagging a collection, streamed, in shards, resumable (what `python -m bioner_pl.predict` runs).

Input and output go a batch of documents at a time, so memory does not grow with the input.
The output is written under a temporary name (`<output>.part`) with a journal of the documents
done (`Journal`); a rerun checks what it finds and continues after the last complete batch, and the finished file is renamed into
place. With num_shards=N, shard I tags documents I, I+N, I+2N, ... into `<output>.shards/`;
merge=true then interleaves the shards into `output` in input order, byte for byte the
unsharded output (brat: every shard writes its documents' files into the same folder). A BioC
collection gets its header and footer when finished (a shard holds only its documents).
"""

from __future__ import annotations

import glob
import hashlib
import heapq
import json
import os
import sys
import time
from itertools import islice
from pathlib import Path
from typing import Iterator

from bioner_pl import cluster
from bioner_pl.errors import InputError, first_line
from bioner_pl.files import MAX_RECORD_BYTES, MiB, bounded_lines, open_own
from bioner_pl import formats
from bioner_pl.formats import Rejected
from bioner_pl.tagging.tagger import Tagger


def output_path(input: str, output: str | None, format: str) -> Path:
    """`output` as given, else beside a single input file, with the format's extension (never the input)."""
    if output:
        return Path(output)
    if glob.has_magic(str(input)):
        raise InputError("output=... is needed when input is a glob of several files", input)
    source = Path(input)
    output = source.with_name(source.name.removesuffix(".gz")).with_suffix(formats.WRITERS[format][1])
    return output.with_name(f"{output.stem}.tagged{output.suffix}") if output == source else output  # never the input


def shard_path(output: Path, shard: int, shards: int) -> Path:
    if shards == 1:
        return output
    return output.with_name(output.name + ".shards") / f"{shard}-of-{shards}{output.suffix}"


def done_marker(folder: Path, shard: int, shards: int) -> Path:
    """brat: every shard writes into the one folder, and says so here when it is done."""
    return folder / f".done-{shard}-of-{shards}"


class Meter:
    """How far a long job is: documents and sentences done, the rate, and, from the bytes of the
    input read, the share done and the time left. A Rich bar on a terminal (as training has), a
    log line every `every` seconds elsewhere (SLURM output files); the summary line ends it."""

    def __init__(self, source: formats.Input, every: float):
        self.source, self.every = source, every
        self.started = self.last = time.time()
        self.counted_from: int | None = None  # bytes read after the first batch (a resumed job skips what is done)
        self.sentences_before = 0
        self.bar = None
        if every and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("tagging"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                                TextColumn("{task.fields[done]}"), console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task("tagging", total=max(source.total_bytes, 1), done="")
            self.bar.start()

    def update(self, counts: dict) -> None:
        now, read = time.time(), self.source.bytes_read
        if self.counted_from is None:  # rates from here on: the first batch also paid for loading
            self.counted_from, self.started, self.sentences_before = read, now, counts["sentences"]
            return
        rate = (counts["sentences"] - self.sentences_before) / max(now - self.started, 1e-9)
        done = f"{counts['documents']:,} documents, {counts['sentences']:,} sentences ({rate:.0f} sentences/s)"
        if self.bar is not None:
            self.bar.update(self.task, completed=read, done=done)
        elif self.every and now - self.last >= self.every:
            self.last = now
            share, speed = read / max(self.source.total_bytes, 1), (read - self.counted_from) / max(now - self.started, 1e-9)
            left = (self.source.total_bytes - read) / speed if speed > 0 else float("inf")
            print(f"tagging: {done}; {share:.0%} of the input read, about {duration(left)} left",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "? min"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


class FileOutput:
    """Records in one file, in input order: appended to `<target>.part` as they come and put in
    place when finished (a BioC collection between its header and footer); a shard's file keeps
    its journal, for the merge."""

    def __init__(self, target: Path, format: str, shards: int):
        self.target, self.format, self.shards = target, format, shards
        self.part = target.with_name(target.name + ".part")
        self.journal = self.part.with_name(self.part.name + ".index")
        self.marker = target  # there when finished
        self.part.parent.mkdir(parents=True, exist_ok=True)
        self.out = None

    def open(self, size: int) -> None:
        """Continue after the `size` bytes a journal vouches for (bytes past them: a batch whose
        journal lines never made it)."""
        self.out = open_own(self.part, "ab")
        if os.fstat(self.out.fileno()).st_size < size:
            self.out.close()
            raise InputError(f"its journal says {size:,} bytes were written, but the file holds fewer: not "
                             "leftovers of ours; remove it and its .index to start afresh", self.part)
        self.out.truncate(size)

    def write(self, data: str) -> int:
        raw = data.encode("utf-8")
        self.out.write(raw)
        return len(raw)

    def flush(self) -> None:
        self.out.flush()
        os.fsync(self.out.fileno())

    def finish(self) -> None:
        self.out.close()
        if self.shards > 1:
            os.replace(self.journal, self.target.with_name(self.target.name + ".index"))
        elif self.format in formats.CONTAINERS:  # one pass over the documents, into their container
            tmp = self.target.with_name(self.target.name + ".tmp")
            with open_own(tmp, "wb") as out:
                formats.assemble(self.format, (data for _, data in indexed(self.part, self.journal)), out)
            os.replace(tmp, self.target)
            self.part.unlink()
            self.journal.unlink()
            return
        else:
            self.journal.unlink()
        os.replace(self.part, self.target)

    def abandon(self) -> None:
        if self.out:
            self.out.close()
            self.part.unlink(missing_ok=True)


class FolderOutput:
    """brat: a folder of files, two a document, each put in place as it is written; every shard
    writes into the one folder and leaves a marker there when it is done."""

    def __init__(self, target: Path, shard: int, shards: int):
        self.target = target
        self.journal = target / f".part-{shard}-of-{shards}.index"
        self.marker = done_marker(target, shard, shards)
        target.mkdir(parents=True, exist_ok=True)

    def open(self, size: int) -> None:
        pass  # a document's files are whole or missing: nothing to cut back

    def write(self, files: dict[str, str]) -> int:
        for name, text in files.items():
            tmp = self.target / f".{name}.tmp"
            with open_own(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, self.target / name)
        return 0

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        os.replace(self.journal, self.marker)

    def abandon(self) -> None:
        pass


class Journal:
    """The record of a shard's output in progress (`<output>.part.index`): a header naming the job,
    then one line per document done (`<number> <bytes> <digest>`, or `<number> rejected <digest>`;
    the digest is of the input document), appended after the batch's output is on disk, so the
    journal never runs ahead of the output.

    A rerun trusts leftovers only as far as they check out: both must be regular files (a link is
    refused, not followed), the header must name this job, the numbers must be this shard's in
    order, the bytes must be in the output's file, and every document the journal says is done
    must be, digest for digest, the input's document of that number."""

    def __init__(self, index: Path, shard: int, shards: int, job: dict):
        self.index, self.shards, self.shard = index, shards, shard
        self.header = f"{JOURNAL} {json.dumps(job, sort_keys=True)}\n".encode("utf-8")
        self.last, self.recorded, self.size = -1, None, 0  # recorded: the leftover journal, read as the input is
        if os.path.lexists(self.index):
            self.size = self._check_journal()  # the output's bytes it vouches for
        else:
            with open_own(self.index, "wb") as f:
                f.write(self.header)
        self.log = open_own(self.index, "a")

    def _entries(self, journal) -> Iterator[tuple[int, str, int, int]]:
        """(number, digest, bytes through this line) of a leftover journal's whole lines, each
        checked: this shard's numbers in order, a byte count or `rejected`, a digest; a line
        cut short ends it (its batch is redone). Read a line at a time: a journal of millions of
        documents costs no memory, and a forged one with no line ends is refused, not read whole."""
        if journal.readline(len(self.header) + 1) != self.header:
            raise InputError("is the journal of another tagging job (or not one of ours): remove it and its "
                             ".part to start afresh, or write to another output", self.index)
        complete, expected = len(self.header), self.shard
        for _, line in bounded_lines(journal, 200):
            if line is not None and not line.endswith(b"\n"):
                return  # a line cut short: its batch is redone
            fields = line.split() if line is not None else []  # None: a line far too long to be ours
            number, written, sign = fields if len(fields) == 3 else (b"", b"", b"")
            if number != str(expected).encode() or not (written == b"rejected" or written.isdigit()) or len(sign) != 16:
                raise InputError(f"line {(line or b'').strip()[:60]!r} is not what a journal of ours holds; remove it "
                                 "and its .part to start afresh", self.index)
            complete += len(line)
            yield expected, sign.decode(), 0 if written == b"rejected" else int(written), complete
            expected += self.shards

    def _check_journal(self) -> int:
        """Check the leftover journal (see the class) and cut off a line cut short; the bytes done.
        Its digests are checked later, against the input, as the rerun reads it (confirm)."""
        size, complete = 0, len(self.header)
        with open_own(self.index, "r+b") as journal:
            for self.last, _, written, complete in self._entries(journal):
                size += written
            journal.truncate(complete)
        self.recorded = self._entries(open_own(self.index, "rb"))
        return size

    def confirm(self, number: int, record) -> None:
        """A document the journal says is done: it must be the one that was tagged."""
        recorded = next(self.recorded, None)
        if recorded is None or recorded[0] != number or recorded[1] != digest(record):
            raise InputError(f"the input's document {number} is not the one its journal recorded: the input "
                             "changed since the interrupted run; remove the .part and .index to start afresh", self.index)

    def record(self, entries: list[tuple[int, int | None, str]]) -> None:
        """(document number, its bytes in the output or None: rejected, its digest) of one batch."""
        self.log.write("".join(f"{number} {'rejected' if written is None else written} {sign}\n"
                               for number, written, sign in entries))
        self.log.flush()
        self.last = entries[-1][0] if entries else self.last

    def close(self) -> None:
        self.log.close()

    def abandon(self) -> None:
        """Nothing was read: leave nothing behind."""
        self.log.close()
        self.index.unlink(missing_ok=True)


JOURNAL = "# bioner-pl tagging journal 2"


def digest(record) -> str:
    """16 hex digits that tell one input document (or rejected record) from another."""
    text = record.record if isinstance(record, Rejected) else record.text
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def indexed(path: Path, index: Path):
    """(document number, its bytes) of an output written with a journal, rejects left out; the
    sizes must add up to no more than the file holds."""
    numbers = [line.split() for line in index.read_text(encoding="utf-8").splitlines()[1:]]
    if not all(len(n) == 3 and n[0].isdigit() and (n[1] == "rejected" or n[1].isdigit()) for n in numbers):
        raise InputError("is not a journal of ours; refused", index)
    if sum(int(size) for _, size, _ in numbers if size != "rejected") > path.stat().st_size:
        raise InputError("its journal lists more bytes than it holds: not an output of ours", path)
    with open(path, "rb") as f:
        for number, size, _ in numbers:
            if size != "rejected":
                yield int(number), f.read(int(size))


def tag_batch(tagger: Tagger, write, batch: list):
    """(number, its output or a Rejected, its digest, the tagged document) of every record of a
    batch: what the reader, the tagger or the writer could not handle is a Rejected naming it,
    and the rest of the batch goes on."""
    docs = [record for _, record, _ in batch if not isinstance(record, Rejected)]
    failed: dict[int, str] = {}
    try:
        tagger.tag(docs)
    except Exception:  # one bad document must not sink the others: tag them one by one to find it
        for doc in docs:
            try:
                tagger.tag([doc])
            except Exception as err:
                failed[id(doc)] = f"could not be tagged ({type(err).__name__}: {first_line(err)})"
    out = []
    for number, record, path in batch:
        if isinstance(record, Rejected):
            out.append((number, record, digest(record), None))
            continue
        problem = failed.get(id(record))
        if problem is None:
            try:
                text = write(record, number)
                out.append((number, text, digest(record), record))
                continue
            except Exception as err:
                problem = f"could not be written ({type(err).__name__}: {first_line(err)})"
        # the digest stays the document's: a rerun reads the same document here
        out.append((number, Rejected(path, None, f"document {number} of the input {problem}", record.text[:200]),
                    digest(record), None))
    return out


def merge_shards(output: Path, shards: int, format: str) -> Path:
    """Interleave the shards' documents into `output` in input order (atomically)."""
    parts = [shard_path(output, i, shards) for i in range(shards)]
    missing = [p for p in parts if not p.exists()]
    if missing:
        raise InputError(f"{len(missing)} of {shards} shards are not finished (first: {missing[0].name}); "
                         "run them first", missing[0])

    tmp = output.with_name(output.name + ".part")
    with open_own(tmp, "wb") as out:
        shards = (indexed(p, p.with_name(p.name + ".index")) for p in parts)
        formats.assemble(format, (data for _, data in heapq.merge(*shards)), out)
    os.replace(tmp, output)
    return output


def tag_collection(ckpt: str, input: str, output: str | None = None, format: str = "jsonl",
                   input_format: str = "auto", documents: str = "lines", text_field: str = "text",
                   head: str | None = None, device: str = "auto", batch_size: int = 256,
                   precision: str = "32-true", documents_per_batch: int = 512, confidences: bool = True,
                   on_error: str = "raise", shard: int = 0, num_shards: int = 1, merge: bool = False,
                   progress_every: float = 60, max_record_mb: float = MAX_RECORD_BYTES / MiB) -> Path:
    """Tag every document of `input` (a file or a glob) into `output`, streamed and resumable; one
    shard of it with num_shards > 1; merge=true interleaves finished shards. The options are
    predict's (conf/predict.yaml). Returns the file (brat: the folder) written."""
    if format not in formats.WRITERS:
        raise InputError(f"unknown output format {format!r}; use one of {', '.join(formats.WRITERS)}")
    if on_error not in ("raise", "skip"):
        raise InputError(f"on_error must be raise or skip, got {on_error!r}")
    shards, shard = int(num_shards), int(shard)
    if not (shards >= 1 and 0 <= shard < shards):
        raise InputError(f"need 0 <= shard < num_shards, got shard={shard} num_shards={shards}")
    output = output_path(input, output, format)
    if merge:
        if format == "brat":
            raise InputError("brat shards already write into one folder: nothing to merge")
        print(f"merged {shards} shards -> {merge_shards(output, shards, format)}", file=sys.stderr)
        return output
    brat = format == "brat"
    target = output if brat else shard_path(output, shard, shards)
    out = FolderOutput(target, shard, shards) if brat else FileOutput(target, format, shards)
    if out.marker.exists():
        print(f"{target}: finished earlier, nothing to do", file=sys.stderr)
        return target
    source = formats.Input(str(input), input_format, documents, text_field, int(max_record_mb * MiB))
    tagger = Tagger.load(ckpt, head=head, device=device, batch_size=batch_size,
                         confidences=confidences, precision=str(precision))
    job = {"input": str(input), "input_format": input_format, "documents": documents, "text_field": text_field,
           "format": format, "shard": shard, "shards": shards}
    journal = Journal(out.journal, shard, shards, job)
    out.open(journal.size)
    if journal.last >= 0:
        print(f"{target}: resuming after document {journal.last} (its journal says so)", file=sys.stderr)
    rejects_path = (target / f"rejects-{shard}-of-{shards}.jsonl" if brat
                    else target.with_name(target.name + ".rejects.jsonl"))
    rejects, read = None, 0  # read: documents of the input read, this shard's and the others'

    def mine():
        """This shard's documents not done before, each with its number in the whole input."""
        nonlocal read
        for n, record in enumerate(source):
            read = n + 1
            if n % shards != shard:
                continue
            if n <= journal.last:
                journal.confirm(n, record)  # done before: it must be the same document
            else:
                yield n, record, source.current

    def abandon():  # nothing written yet, now or by an earlier attempt: leave nothing behind
        out.abandon()
        journal.abandon()

    todo = mine()
    counts, started = {"documents": 0, "sentences": 0, "entities": 0, "rejected": 0}, time.time()
    meter = Meter(source, progress_every)
    try:
        while batch := list(islice(todo, documents_per_batch)):
            entries = []
            for number, data, sign, doc in tag_batch(tagger, formats.WRITERS[format][0], batch):
                if isinstance(data, Rejected):
                    if on_error == "raise":
                        if journal.last < 0:
                            abandon()
                        raise data.error()
                    rejects = rejects or open_own(rejects_path, "a")
                    rejects.write(json.dumps({"path": str(data.path), "line": data.line, "problem": data.problem,
                                              "record": data.record}, ensure_ascii=False) + "\n")
                    rejects.flush()
                    counts["rejected"] += 1
                    entries.append((number, None, sign))
                    continue
                counts["documents"] += 1
                counts["sentences"] += len(doc.sentences)
                counts["entities"] += len(doc.entities)
                entries.append((number, out.write(data), sign))
            out.flush()
            journal.record(entries)  # after the batch's output is on disk
            meter.update(counts)
            if cluster.terminating():  # a requeue or preemption: stop where the journal is whole
                raise SystemExit(f"bioner-pl: SLURM took this attempt away after document {batch[-1][0]}; "
                                 f"the requeued job resumes {target} from there")
    finally:
        meter.close()
    if read == 0:
        abandon()
        raise InputError("empty input: nothing to tag", input)
    if read <= journal.last:
        raise InputError(f"its journal lists document {journal.last}, but the input has {read}: not this "
                         "input's leftovers; remove the .part and .index to start afresh", journal.index)
    journal.close()
    out.finish()
    if rejects:
        rejects.close()
    seconds = time.time() - started
    print(f"tagged {counts['documents']} documents, {counts['sentences']} sentences, {counts['entities']} entities, "
          f"{counts['rejected']} rejected{f' (-> {rejects_path})' if rejects else ''}, in {seconds:.1f} s ({counts['sentences'] / max(seconds, 1e-9):.0f} "
          f"sentences/s) -> {target}", file=sys.stderr)
    return target
