"""The registries of swappable network parts: architectures by name, embedding layers by kind.

A part is a class with an `Options` schema (a pydantic model: every field typed, ranged, unknown
keys refused); a config or a stored tagger names it and gives options, nothing more, so a file
can only ever pick one of these classes and fill in checked values (never a `_target_` that
Hydra would build). Ours join with `register`; a package of yours joins through the entry-point
group (`bioner_pl.architectures` / `bioner_pl.embeddings` in its pyproject.toml), and then its
checkpoints load like ours.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from pydantic import BaseModel, ConfigDict, ValidationError

from bioner_pl.errors import InputError


class PartOptions(BaseModel):
    """The base of every part's options: exact types (no "3" for 3), no NaN or infinity, and no
    key the part does not know."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


def one_line(err: ValidationError, prefix: str = "") -> str:
    """pydantic's first complaint as one line: which field, what is wrong with it."""
    first = err.errors()[0]
    field = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    return f"{field or prefix or 'value'}: {first['msg']} (got {repr(first.get('input'))[:80]})"


class Registry(dict):
    """name -> class for one kind of part. `key` is the field that names the part in a spec
    ({"name": "cs", "bigram": true}); `legacy` maps the `_target_` strings earlier releases wrote
    to names, so their checkpoints still load (an exact string of ours, not a class path to import)."""

    def __init__(self, kind: str, key: str, group: str):
        super().__init__()
        self.kind, self.key, self.group, self.legacy = kind, key, group, {}

    def register(self, name: str, *legacy_targets: str):
        def add(cls):
            self[name] = cls
            self.legacy.update(dict.fromkeys(legacy_targets, name))
            return cls

        return add

    def find(self, name: object) -> type:
        name = self.legacy.get(name, name) if isinstance(name, str) else name
        if isinstance(name, str) and name not in self:  # an installed plugin's part, if one has that name
            plugin = next((ep for ep in entry_points(group=self.group) if ep.name == name), None)
            if plugin is not None:
                self.register(name)(plugin.load())
        if not isinstance(name, str) or name not in self:
            raise InputError(f"asks for {self.kind} {str(name)[:80]!r}, which is not one of ours "
                             f"({', '.join(self)})")
        return self[name]

    def spec(self, data: object, field: str, stored: bool = False) -> tuple[str, type, BaseModel]:
        """(name, class, checked options) of a spec: a dict naming the part by `key` (or by a
        legacy `_target_`) and giving its options. `stored`: the spec comes from a file, and the
        part may ask more of it (a transformer must carry its tokenizer files)."""
        if not isinstance(data, dict):
            raise InputError(f"{field}: expected a mapping naming the {self.kind}, got {type(data).__name__}")
        options = dict(data)
        name, target = options.pop(self.key, None), options.pop("_target_", None)
        if name is not None and target is not None:
            raise InputError(f"{field}: names its {self.kind} twice ({self.key} and _target_); refused")
        name = target if name is None else name
        try:
            cls = self.find(name)
        except InputError as err:
            raise InputError(f"{field}: {err.problem}") from None
        try:
            checked = cls.Options.model_validate(options, context={"stored": stored})
        except ValidationError as err:
            raise InputError(one_line(err, field)) from None
        return next(n for n, c in self.items() if c is cls), cls, checked


ARCHITECTURES = Registry("architecture", "name", "bioner_pl.architectures")
EMBEDDINGS = Registry("embedding layer", "kind", "bioner_pl.embeddings")


def embedding_layer(spec: dict | None, vocab_size: int, word_dim: int, num_chars: int, dropout: float):
    """The embedding layer a spec asks for (None: the paper's word vectors + char-CNN)."""
    _, cls, options = EMBEDDINGS.spec(spec if spec is not None else {"kind": "word_char"}, "embedding")
    return cls.from_options(options, vocab_size=vocab_size, word_dim=word_dim, num_chars=num_chars, dropout=dropout)
