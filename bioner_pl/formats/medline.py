"""PubMed / MEDLINE XML (`<PubmedArticle>` or `<MedlineCitation>` records): PMID, title and abstract."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

from bioner_pl.files import bounded_lines
from bioner_pl.formats.document import Document, Rejected, titled
from bioner_pl.formats.opening import Options, too_large

RECORDS = ("PubmedArticle", "PubmedBookArticle", "MedlineCitation")


def read(path: Path, binary, options: Options) -> Iterator[Document | Rejected]:
    """Abstract sections joined by spaces. Parsed incrementally, a line at a time (so a record's
    line is known), each record freed once read. A record without a PMID or title is Rejected;
    broken XML ends the file with a Rejected naming its line."""
    limit = options.limit
    parser, depth, start, root, pmid = ET.XMLPullParser(events=("start", "end")), 0, 0, None, ""
    number, size = 0, 0
    try:
        for number, raw in bounded_lines(binary, limit):
            size = size + len(raw) if raw is not None and depth else 0
            if raw is None or size > limit:  # XML cannot be picked up again after a hole
                yield Rejected(path, start if depth else number, too_large(limit) + in_record(depth, pmid)
                               + "; the rest of this file is skipped", pmid)
                return
            parser.feed(raw)
            for event, element in parser.read_events():
                root = element if root is None else root
                if element.tag == "PMID" and event == "end" and depth and not pmid:
                    pmid = (element.text or "").strip()  # to name the record if the file breaks off in it
                if element.tag not in RECORDS:
                    continue
                if event == "start":
                    depth += 1
                    start, pmid = (start, pmid) if depth > 1 else (number, "")
                    continue
                depth -= 1
                if depth == 0:
                    yield record(path, start, element)
                    root.clear()  # the set's finished records: memory stays flat
        parser.close()
    except ET.ParseError as err:
        yield Rejected(path, max(number, 1), f"broken XML ({err}){in_record(depth, pmid)}; the rest of this file is skipped", pmid)
    except (OSError, EOFError) as err:
        yield Rejected(path, max(number, 1), f"unreadable ({err}){in_record(depth, pmid)}; the rest of this file is skipped", pmid)


def in_record(depth: int, pmid: str) -> str:
    return f" in the record of PMID {pmid}" if depth and pmid else " in a record without a PMID yet" if depth else ""


def record(path: Path, line: int, element) -> Document | Rejected:
    pmid = (element.findtext(".//PMID") or "").strip()
    title_element = element.find(".//ArticleTitle")
    if title_element is None:
        title_element = element.find(".//BookTitle")
    if not pmid or title_element is None:
        return Rejected(path, line, f"a record without {'a PMID' if not pmid else 'an ArticleTitle'}"
                        + (f" (PMID {pmid})" if pmid else ""), pmid)
    title = " ".join("".join(title_element.itertext()).split())
    abstract = " ".join(" ".join("".join(part.itertext()).split()) for part in element.iterfind(".//Abstract/AbstractText"))
    return titled(pmid, title, abstract)
