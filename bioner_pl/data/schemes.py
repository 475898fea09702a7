"""Tag schemes: IOB1, IOB2, IOBES (BIOES) and BILOU, read into entity spans and written as IOB2,
the one scheme everything downstream uses. An entity is the same span and type in every scheme."""

from __future__ import annotations

# scheme -> (begin, inside, end, single) prefixes; IOB1 and IOB2 have no end / single tags.
PREFIXES = {"iob1": ("B", "I", None, None), "iob2": ("B", "I", None, None),
            "iobes": ("B", "I", "E", "S"), "bilou": ("B", "I", "L", "U")}
ALIASES = {"bio": "iob2", "bioes": "iobes", "iobes": "iobes", "iob1": "iob1", "iob2": "iob2", "bilou": "bilou"}
SCHEMES = ("auto", *ALIASES)


class SchemeError(ValueError):
    """A tag that its scheme does not allow here; `index` is the tag's position in the sequence."""

    def __init__(self, problem: str, index: int):
        super().__init__(problem)
        self.index = index


def split_tag(tag: str) -> tuple[str, str] | None:
    """("B", "Gene") of "B-Gene", ("O", "") of "O"; None when it is not a tag of any scheme."""
    if tag == "O":
        return "O", ""
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BIESLU":
        return tag[0], tag[2:]
    return None


def canonical(scheme: str) -> str:
    name = ALIASES.get(str(scheme).lower())
    if name is None and str(scheme).lower() != "auto":
        raise ValueError(f"unknown tag scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    return name or "auto"


def detect(sequences: list[list[str]]) -> tuple[str, str]:
    """The scheme of these tag sequences and why: E-/S- tags mean IOBES, L-/U- BILOU, an entity that
    starts with I- IOB1, else IOB2."""
    seen = {split_tag(t)[0] for tags in sequences for t in tags if split_tag(t)}
    if seen & {"E", "S"} and seen & {"L", "U"}:
        raise SchemeError("mixes IOBES (E-, S-) and BILOU (L-, U-) tags", 0)
    if seen & {"E", "S"}:
        return "iobes", "E-/S- tags"
    if seen & {"L", "U"}:
        return "bilou", "L-/U- tags"
    for tags in sequences:
        previous = "O"
        for tag in tags:
            if tag.startswith("I-") and previous[2:] != tag[2:]:
                return "iob1", f"an entity starts with {tag}"
            previous = tag
    return "iob2", "every entity starts with B-"


def spans(tags: list[str], scheme: str) -> list[tuple[str, int, int]]:
    """(type, first, last) of every entity in a tag sequence, checked against its scheme."""
    begin, inside, end, single = PREFIXES[scheme]
    found: list[list] = []
    open_type = None  # the type of the entity the previous tag left open
    for i, tag in enumerate(tags):
        parts = split_tag(tag)
        if parts is None or (parts[0] not in ("O", begin, inside, end, single)):
            raise SchemeError(f"{tag!r} is not {scheme.upper()} (O, "
                              + ", ".join(f"{p}-TYPE" for p in (begin, inside, end, single) if p) + ")", i)
        prefix, kind = parts
        closing = end is not None  # IOBES / BILOU: an entity must be closed by its end tag
        if prefix in (inside, end) and open_type != kind:
            if scheme == "iob1" and prefix == inside:  # IOB1: I- starts an entity
                found.append([kind, i, i])
                open_type = kind
                continue
            raise SchemeError(f"{tag} without its {begin}-{kind}", i)
        if closing and open_type is not None and prefix not in (inside, end):
            raise SchemeError(f"{begin}-{open_type} not closed by {end}-{open_type} before {tag}", i)
        if prefix == "O":
            open_type = None
        elif prefix in (begin, single):
            found.append([kind, i, i])
            open_type = kind if prefix == begin else None
        else:  # inside or end: continue the open entity
            found[-1][2] = i
            open_type = None if prefix == end else kind
    if end is not None and open_type is not None:
        raise SchemeError(f"{begin}-{open_type} not closed by {end}-{open_type} at the end of the sentence",
                          len(tags) - 1)
    return [tuple(f) for f in found]


def iob2(length: int, entities) -> list[str]:
    """The IOB2 tags of a sentence of `length` tokens with these (type, first, last) entities."""
    tags = ["O"] * length
    for kind, first, last in entities:
        tags[first] = f"B-{kind}"
        tags[first + 1 : last + 1] = [f"I-{kind}"] * (last - first)
    return tags
