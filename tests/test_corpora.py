"""User corpora: configs and folders, column formats, tag schemes, PubTator, brat and BioC, type maps."""

import gzip
import json
import logging
from pathlib import Path

import bioc
import pytest
from bioc import biocjson, biocxml
from seqeval.metrics.sequence_labeling import get_entities

from bioner_pl import data as ds
from bioner_pl.config import compose_config
from bioner_pl.data import corpus as corpora
from bioner_pl.data import schemes, standoff
from bioner_pl.errors import InputError
from helpers import FIXTURE_DATA, SMALL_VECTORS, TINY, run_cli


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode()) if path.suffix == ".gz" else text.encode())
    return path


def corpus(path: Path, **spec) -> ds.Corpus:
    return corpora.check(ds.Corpus(name=path.name, path=str(path), **spec))


def entities(sentences) -> list:
    return [get_entities(list(s.tags)) for s in sentences]


# ---- our own writers, from entity spans, to check the readers against ----------------------------

def in_scheme(tags: tuple[str, ...], scheme: str) -> list[str]:
    """IOB2 tags rewritten in another scheme, from seqeval's entity spans."""
    out = ["O"] * len(tags)
    spans = get_entities(list(tags))
    for kind, first, last in spans:
        if scheme == "iob1":
            after_same = first > 0 and any(k == kind and e == first - 1 for k, _, e in spans)
            out[first : last + 1] = [f"{'B' if after_same else 'I'}-{kind}"] + [f"I-{kind}"] * (last - first)
        else:
            end, single = {"iobes": ("E", "S"), "bilou": ("L", "U")}[scheme]
            if first == last:
                out[first] = f"{single}-{kind}"
            else:
                out[first : last + 1] = [f"B-{kind}"] + [f"I-{kind}"] * (last - first - 1) + [f"{end}-{kind}"]
    return out


def documents(sentences, per_doc: int = 7):
    """Groups of sentences as documents: (text, length of its first sentence, [(start, end, type, text)])."""
    for i in range(0, len(sentences), per_doc):
        text, mentions = "", []
        title = len(" ".join(sentences[i].tokens))
        for s in sentences[i : i + per_doc]:
            starts = []
            for token in s.tokens:
                text += (" " if text else "")
                starts.append(len(text))
                text += token
            for kind, first, last in get_entities(list(s.tags)):
                start, end = starts[first], starts[last] + len(s.tokens[last])
                mentions.append((start, end, kind, text[start:end]))
        yield text, title, mentions


def as_pubtator(sentences) -> str:
    """Each document's first sentence is its title; offsets run over title, space, abstract."""
    out = []
    for n, (text, first, mentions) in enumerate(documents(sentences)):
        out += [f"{n}|t|{text[:first]}", f"{n}|a|{text[first + 1:]}"]
        out += [f"{n}\t{s}\t{e}\t{t}\t{k}\tID:{j}" for j, (s, e, k, t) in enumerate(mentions)]
        out.append("")
    return "\n".join(out) + "\n"


def as_brat(sentences, folder: Path) -> None:
    for n, (text, _, mentions) in enumerate(documents(sentences)):
        write(folder / f"doc{n:03d}.txt", text)
        write(folder / f"doc{n:03d}.ann", "".join(f"T{j}\t{k} {s} {e}\t{t}\n" for j, (s, e, k, t) in enumerate(mentions, 1)))


def as_bioc(sentences, xml: bool) -> str:
    """Written by the `bioc` library as PubTator3 does: a title and an abstract passage, each
    annotation in the document's offsets, with a type and an identifier infon."""
    collection = bioc.BioCCollection()
    for n, (text, first, mentions) in enumerate(documents(sentences)):
        doc = bioc.BioCDocument()
        doc.id = str(n)
        for offset, part in ((0, text[:first]), (first + 1, text[first + 1:])):
            passage = bioc.BioCPassage()
            passage.offset, passage.text, passage.infons["type"] = offset, part, "title" if offset == 0 else "abstract"
            for j, (s, e, k, t) in enumerate(mentions):
                if offset <= s < offset + len(part):
                    annotation = bioc.BioCAnnotation()
                    annotation.id, annotation.text, annotation.infons = str(j), t, {"type": k, "identifier": f"ID:{j}"}
                    annotation.add_location(bioc.BioCLocation(s, e - s))
                    passage.add_annotation(annotation)
            doc.add_passage(passage)
        collection.add_document(doc)
    return biocxml.dumps(collection) if xml else biocjson.dumps(collection, indent=1)


def flat(sentences):
    return [t for s in sentences for t in s.tokens], [t for s in sentences for t in s.tags]


@pytest.mark.parametrize("form", ["iob1", "iobes", "bilou", "pubtator", "brat", "bioc_xml", "bioc_json"])
def test_every_format_reads_back_the_iob2_entities(tmp_path, data_dir, form, caplog):
    """The Ex-PTM fixture written in another scheme or format reads back to the same entities."""
    splits = {s: ds.load_split("exptm", s, data_dir, None) for s in ds.SPLITS}
    folder = tmp_path / "mine"
    for split, sentences in splits.items():
        name = {"train": "train", "devel": "dev", "test": "test"}[split]
        if form == "pubtator":
            write(folder / f"{name}.pubtator", as_pubtator(sentences))
        elif form == "brat":
            as_brat(sentences, folder / name)
        elif form.startswith("bioc"):
            xml = form == "bioc_xml"
            write(folder / f"{name}.{'xml' if xml else 'json'}{'.gz' if split == 'test' else ''}", as_bioc(sentences, xml))
        else:
            write(folder / f"{name}.{form}.gz" if split == "test" else folder / f"{name}.{form}",
                  "".join("".join(f"{w}\t{t}\n" for w, t in zip(s.tokens, in_scheme(s.tags, form))) + "\n"
                          for s in sentences))
    caplog.set_level(logging.INFO, "bioner_pl")
    mine = ds.resolve(str(folder))
    assert mine.name == "mine"
    for split, sentences in splits.items():
        back = ds.load_split(mine, split, tmp_path, None)
        if form in ("pubtator", "brat", "bioc_xml", "bioc_json"):  # our sentence splitter may cut the text elsewhere
            assert flat(back) == flat(sentences)
        else:
            assert entities(back) == entities(sentences) and back == sentences
    if form in ("iob1", "iobes", "bilou"):
        assert f"tag scheme {form.upper()} (detected" in caplog.text
    if form.startswith("bioc"):
        assert "read as bioc" in caplog.text


SCHEME_ERRORS = [
    ("iob2", ["O", "I-Gene"], 1, "I-Gene without its B-Gene"),
    ("iob2", ["B-Gene", "I-Chem"], 1, "I-Chem without its B-Chem"),
    ("iob2", ["B-Gene", "E-Gene"], 1, "'E-Gene' is not IOB2"),
    ("iobes", ["B-Gene", "O"], 1, "B-Gene not closed by E-Gene before O"),
    ("iobes", ["E-Gene"], 0, "E-Gene without its B-Gene"),
    ("iobes", ["B-Gene", "I-Gene"], 1, "not closed by E-Gene at the end"),
    ("bilou", ["O", "L-Gene"], 1, "L-Gene without its B-Gene"),
    ("bilou", ["B-Gene", "U-Gene"], 1, "B-Gene not closed by L-Gene before U-Gene"),
    ("iob1", ["I-Gene", "GENE"], 1, "'GENE' is not IOB1"),
]


@pytest.mark.parametrize("scheme, tags, index, problem", SCHEME_ERRORS)
def test_scheme_errors_name_file_and_line(tmp_path, scheme, tags, index, problem):
    path = write(tmp_path / "bad.tsv", "x\tO\n\n" + "".join(f"w{i}\t{t}\n" for i, t in enumerate(tags)))
    with pytest.raises(InputError) as err:
        ds.read_column_corpus(path, scheme)
    assert problem in str(err.value) and err.value.line == 3 + index and str(path) in str(err.value)


def test_scheme_detection():
    assert schemes.detect([["B-X", "I-X", "O"]])[0] == "iob2"
    assert schemes.detect([["O", "I-X", "I-X", "B-X"]])[0] == "iob1"
    assert schemes.detect([["S-X", "O"]])[0] == "iobes"
    assert schemes.detect([["U-X"]])[0] == "bilou"
    with pytest.raises(schemes.SchemeError, match="mixes"):
        schemes.detect([["S-X"], ["U-X"]])
    # an entity is the same span in every scheme
    assert schemes.spans(["B-X", "I-X", "B-X", "O"], "iob2") == schemes.spans(["I-X", "I-X", "B-X", "O"], "iob1") \
        == schemes.spans(["B-X", "E-X", "S-X", "O"], "iobes") == schemes.spans(["B-X", "L-X", "U-X", "O"], "bilou") \
        == [("X", 0, 1), ("X", 2, 2)]


def test_columns_spaces_comments_and_chosen_columns(tmp_path):
    text = ("-DOCSTART- -X- O O\n\n# sent_id = 1\nIL-2 NN B-NP B-Gene\n# NN I-NP I-Gene\ngene NN I-NP I-Gene\n\n"
            "# a comment between sentences\nok JJ O O\n")
    path = write(tmp_path / "c.conll", text)
    sentences = ds.read_column_corpus(path)  # space-separated, tag in the last column
    assert sentences == [ds.Sentence(("IL-2", "#", "gene"), ("B-Gene", "I-Gene", "I-Gene")),
                         ds.Sentence(("ok",), ("O",))]
    chunks = ds.read_column_corpus(path, scheme="iob2", token=0, tag=2)  # the chunk column instead
    assert chunks[0].tags == ("B-NP", "I-NP", "I-NP")
    with pytest.raises(InputError, match="expected 4 columns like the first row, found 3") as err:
        ds.read_column_corpus(write(tmp_path / "d.conll", "a NN B-NP O\nb NN O\n"))
    assert err.value.line == 2


def test_hash_token_that_is_a_row_is_kept(tmp_path):
    path = write(tmp_path / "h.tsv", "#\tO\n1\tB-Num\n\n# not a row\n")
    assert ds.read_iob(path) == [ds.Sentence(("#", "1"), ("O", "B-Num"))]


def test_split_files_found_by_name_and_ambiguity_is_an_error(tmp_path, data_dir):
    folder = tmp_path / "c"
    source = (data_dir / "NCBI-disease-IOB" / "devel.tsv").read_text()
    for name in ("my_training.iob2", "valid.txt", "TEST.conll", "README.md"):
        write(folder / name, source)
    mine = ds.resolve(str(folder))
    assert [ds.split_path(mine, s, tmp_path, None).name for s in ds.SPLITS] == ["my_training.iob2", "valid.txt", "TEST.conll"]
    write(folder / "dev.tsv", source)
    with pytest.raises(InputError, match="2 files could be the devel split \\(dev.tsv, valid.txt\\)"):
        ds.split_path(mine, "devel", tmp_path, None)
    empty = tmp_path / "e"
    empty.mkdir()
    with pytest.raises(InputError, match="missing test split of 'e'; put a file named like test"):
        ds.load_split(str(empty), "test", tmp_path, None)


def test_corpus_names_that_are_not_there(tmp_path):
    with pytest.raises(InputError, match="corpus directory not found"):
        ds.resolve(str(tmp_path / "nope"))
    (tmp_path / "ncbi").mkdir()
    with pytest.raises(InputError, match="also a corpus config's"):
        ds.resolve(str(tmp_path / "ncbi"))
    write(tmp_path / "conf" / "corpus" / "odd.yaml", "path: x\nsheme: iob2\n")
    with pytest.raises(InputError, match="odd.yaml: unknown corpus config keys \\['sheme'\\]"):
        ds.resolve("odd", [tmp_path / "conf" / "corpus"])
    write(tmp_path / "conf" / "corpus" / "odd2.yaml", "path: x\nscheme: bio3\nformat: xml\n")
    with pytest.raises(InputError, match="unknown format 'xml'.*unknown tag scheme 'bio3'"):
        ds.resolve("odd2", [tmp_path / "conf" / "corpus"])


def test_type_map_renames_merges_and_drops(tmp_path, caplog):
    folder = tmp_path / "j"
    write(folder / "train.tsv", "a\tB-DNA\nb\tI-DNA\nc\tB-RNA\nd\tB-cell_line\ne\tI-cell_line\nf\tB-protein\n")
    mapped = ds.load_split(corpus(folder, types={"DNA": "Gene", "RNA": "Gene", "cell_line": None, "RNAx": "Gene"}),
                           "train", tmp_path, None)
    assert mapped[0].tags == ("B-Gene", "I-Gene", "B-Gene", "O", "O", "B-protein")
    assert "the type map names ['RNAx']" in caplog.text


def test_pubtator_edges_inside_tokens_and_nested_mentions_are_reported(tmp_path, caplog):
    text = "IL2gene and the p53 tumor suppressor"
    lines = ["7|t|" + text.split(" and ")[0], "7|a|" + "and " + text.split(" and ")[1],
             "7\t0\t3\tIL2\tGene\tX", "7\t16\t19\tp53\tGene\tX", "7\t16\t36\tp53 tumor suppressor\tGene\tX",
             "7\tCID\tX\tY"]
    path = write(tmp_path / "p.pubtator", "\n".join(lines) + "\n")
    caplog.set_level(logging.INFO, "bioner_pl")
    sentences = standoff.read(path, "pubtator")
    assert sentences[0] == ds.Sentence(("IL2", "gene"), ("B-Gene", "O"))
    assert sentences[1].tags == ("O", "O", "B-Gene", "I-Gene", "I-Gene")
    assert f"{path}:3: a mention's edge at 3 falls inside the token 'IL2gene'" in caplog.text
    assert f"{path}:4: Gene mention 16-19 nested in the Gene mention 16-36 (line 5)" in caplog.text
    assert "3 mentions; 0 dropped by the type map; 1 nested or overlapping (the outermost kept)" in caplog.text
    assert "1 tokens split" in caplog.text


@pytest.mark.parametrize("lines, line, problem", [
    (["1|t|Some title", "1|a|An abstract.", "1\t0\t4\tSame\tGene\tX"], 3, "mention 'Same' does not match the text at 0-4 ('Some')"),
    (["1|t|Some title", "1|a|An abstract.", "1\t5\t90\ttitle\tGene\tX"], 3, "outside the text"),
    (["1|t|Some title", "oops"], 2, "not a PubTator line"),
    (["1|t|Some title", "1|a|An abstract.", "1\t5\t13\ttitle An\tGene\tX"], 3, "crosses from the title"),
])
def test_pubtator_errors(tmp_path, lines, line, problem):
    path = write(tmp_path / "bad.pubtator", "\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        standoff.read(path, "pubtator")
    assert problem in str(err.value) and err.value.line == line and str(path) in str(err.value)


def test_brat_errors_and_discontinuous_mentions(tmp_path, caplog):
    folder = tmp_path / "b"
    write(folder / "a.txt", "the IL-2 receptor alpha chain")
    write(folder / "a.ann", "T1\tGene 4 8;18 23\tIL-2 alpha\nR1\tRel Arg1:T1 Arg2:T1\n#1\tAnnotatorNotes T1\tx\n")
    sentences = standoff.read(folder, "brat")
    assert sentences[0].tags == ("O", "B-Gene", "I-Gene", "I-Gene", "I-Gene", "I-Gene", "O")
    assert f"{folder / 'a.ann'}:1: discontinuous Gene mention" in caplog.text
    write(folder / "b.ann", "T1\tGene 0 3\tthe\n")
    with pytest.raises(InputError, match="b.ann: brat annotations without their text: b.txt is missing"):
        standoff.read(folder, "brat")
    write(folder / "b.txt", "The end")
    with pytest.raises(InputError, match="b.ann:1: mention 'the' does not match the text at 0-3 \\('The'\\)"):
        standoff.read(folder, "brat")


@pytest.mark.slow
def test_train_on_a_folder_and_a_user_config_end_to_end(tmp_path, data_dir):
    """main=<folder> with a user corpus config as the auxiliary (from --config-dir), then tables,
    evaluate and predict by the corpus names."""
    mine = tmp_path / "my-corpus"
    for split, name in (("train", "train.bilou"), ("devel", "dev.bilou"), ("test", "test.bilou")):
        sentences = ds.load_split("ncbi", split, data_dir, None)
        write(mine / name, "".join("".join(f"{w} {t}\n" for w, t in zip(s.tokens, in_scheme(s.tags, "bilou"))) + "\n"
                                    for s in sentences))
    conf = tmp_path / "conf"
    write(conf / "corpus" / "proteins.yaml", f"path: {data_dir / 'BioNLP09-IOB'}\ntypes: {{Gene_or_gene_product: Protein}}\n")
    out = tmp_path / "out"
    result = run_cli("bioner_pl.train", "model=cs", f"main={mine}", "aux=proteins", *TINY, *SMALL_VECTORS,
                     f"out_root={out}", "data.base_url=null", "--config-dir", str(conf))
    assert result.returncode == 0, result.stderr[-3000:]
    run = out / "runs" / "cs" / "my-corpus__proteins" / "random" / "frac1" / "seed1"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["main"] == "my-corpus" and metrics["aux"] == ["proteins"] and metrics["test"]["f1"] >= 0
    assert "tag scheme BILOU (detected: L-/U- tags)" in (run / "train.log").read_text()
    tables = run_cli("bioner_pl.tables", f"roots=[{out / 'runs'}]", f"out={tmp_path / 't'}", "min_epochs=1",
                     "charts=false")
    assert tables.returncode == 0, tables.stderr[-2000:]
    assert "| my-corpus + proteins | cs |" in (tmp_path / "t" / "tables.md").read_text()
    ckpt = run / metrics["checkpoint"]
    evaluated = run_cli("bioner_pl.evaluate", f"ckpt={ckpt}", f"dataset={mine}", "split=devel",
                        f"output={tmp_path / 'dev.tsv'}")
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert json.loads((tmp_path / "dev.json").read_text())["head"] == "my-corpus"
    text = write(tmp_path / "in.txt", "Mutations in the APC gene cause colon cancer .\n")
    tagged = run_cli("bioner_pl.predict", f"ckpt={ckpt}", f"input={text}", "head=proteins")
    assert tagged.returncode == 0, tagged.stderr[-2000:]


@pytest.mark.parametrize("overrides, message", [
    (["main=/no/such/corpus"], "/no/such/corpus: corpus directory not found"),
    (["main=mine2"], "unknown corpus 'mine2': neither a corpus config"),
])
@pytest.mark.slow
def test_cli_corpus_errors_are_one_line(tmp_path, overrides, message):
    result = run_cli("bioner_pl.train", *overrides, *TINY, *SMALL_VECTORS, f"out_root={tmp_path}")
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_user_config_fetches_its_files_from_its_url(tmp_path, data_dir):
    from test_data import _Server

    server = _Server(data_dir)
    try:
        conf = write(tmp_path / "conf" / "corpus" / "remote.yaml",
                     f"path: remote\nurl: {server.url}/Ex-PTM-IOB\nfiles: {{test: test.tsv}}\n")
        remote = ds.resolve("remote", [conf.parent])
        sentences = ds.load_split(remote, "test", tmp_path / "data", base_url=None)  # an absolute url needs no base
        assert (tmp_path / "data" / "remote" / "test.tsv").read_bytes() == (data_dir / "Ex-PTM-IOB" / "test.tsv").read_bytes()
        assert sentences == ds.load_split("exptm", "test", data_dir, None)
    finally:
        server.close()


def test_a_dropped_type_drops_before_nesting_keeping_what_it_held(tmp_path, caplog):
    folder = tmp_path / "st" / "train"
    write(folder / "a.txt", "IL-2 receptor expressing T cells")
    write(folder / "a.ann", "T1\tCell 0 32\tIL-2 receptor expressing T cells\nT2\tProtein 0 13\tIL-2 receptor\n")
    caplog.set_level(logging.INFO, "bioner_pl")
    kept = ds.load_split(corpus(tmp_path / "st", format="brat", types={"Cell": None, "Gene": "Protein"}), "train",
                         tmp_path, None)
    protein = [kept[0].tokens[a : b + 1] for _, a, b in entities(kept)[0]]
    assert protein == [("IL", "-", "2", "receptor")] and entities(kept)[0][0][0] == "Protein"  # the nested one survives
    assert "1 dropped by the type map; 0 nested or overlapping" in caplog.text
    assert "the type map names ['Gene'], which this file does not have" in caplog.text
    # without the map the outer mention wins, as before
    assert [e[0] for e in entities(ds.load_split(corpus(tmp_path / "st", format="brat"), "train", tmp_path, None))[0]] == ["Cell"]


def test_published_pubtator_quirks_whitespace_at_a_mention_edge_and_a_repeated_document(tmp_path, caplog):
    # As NCBI-disease's releases: a mention written with two trailing spaces the text does not have,
    # its offsets spanning them (the MTL copy) or not (the original NCBItrainset_corpus.txt, line 3249);
    # text at the offsets with a space the written mention lacks; and a document (PMID 8528200 there)
    # that appears twice.
    doc = ["8528200|t|Familial colon cancer.", "8528200|a|Germline APC mutations and a plus  sign.",
           "8528200\t9\t23\tcolon cancer  \tDiseaseClass\tD003110",
           "8528200\t32\t35\tAPC  \tGene\t324", "8528200\t52\t58\tplus\tSign\tX"]
    path = write(tmp_path / "ncbi.pubtator", "\n".join(doc + [""] + doc) + "\n")
    caplog.set_level(logging.INFO, "bioner_pl")
    sentences = standoff.read(path, "pubtator")
    assert sentences == [ds.Sentence(("Familial", "colon", "cancer", "."), ("O", "B-DiseaseClass", "I-DiseaseClass", "O")),
                         ds.Sentence(("Germline", "APC", "mutations", "and", "a", "plus", "sign", "."),
                                     ("O", "B-Gene", "O", "O", "O", "B-Sign", "O", "O"))]
    for line, written, at, core, span in ((3, "colon cancer  ", "colon cancer. ", "colon cancer", "9-21"),
                                          (4, "APC  ", "APC", "APC", "32-35"), (5, "plus", "plus  ", "plus", "52-56")):
        assert f"{path}:{line}: mention {written!r} and the text at its offsets {at!r} differ in whitespace at the " \
               f"edges; tagged as {core!r} at {span}" in caplog.text
    assert f"{path}:7: document 8528200 again (first at line 1); read once" in caplog.text
    assert "3 whose edges differ from the text in whitespace (trimmed)" in caplog.text
    assert "1 repeated documents" in caplog.text


def test_the_training_log_counts_sentences_tokens_and_mentions_by_type_per_split(caplog):
    from bioner_pl.data import read_iob
    from bioner_pl.data.datamodule import MultiTaskDataModule, split_stats
    from bioner_pl.data.embeddings import random_vectors

    caplog.set_level(logging.INFO, "bioner_pl")
    MultiTaskDataModule("ncbi", ["bionlp09"], random_vectors(5), data_dir=FIXTURE_DATA, base_url=None).prepare()
    for name, folder in (("ncbi", "NCBI-disease-IOB"), ("bionlp09", "BioNLP09-IOB")):
        for split in ds.SPLITS:
            assert f"{name} {split}: {split_stats(read_iob(FIXTURE_DATA / folder / f'{split}.tsv'))}" in caplog.text
    assert split_stats([ds.Sentence(("a", "b", "c"), ("B-X", "I-X", "B-Y"))]) == \
        "1 sentences, 3 tokens, 2 mentions (X 1, Y 1)"


def test_a_pubtator_file_cut_off_is_reported_in_training_and_in_tagging(tmp_path):
    from bioner_pl.formats import Rejected, read

    whole = "1|t|A title.\n1|a|An abstract.\n\n2|t|Another title.\n2|a|Its abstract about IL-2"
    path = write(tmp_path / "cut.pubtator", whole)
    with pytest.raises(InputError, match=r"cut.pubtator:5: the file ends inside this document.*cut off"):
        standoff.read(path, "pubtator")
    records = list(read(str(path)))
    assert [r.fields.get("id") for r in records[:1]] == ["1"] and isinstance(records[1], Rejected)
    assert records[1].line == 5 and "ends inside this document" in records[1].problem
    write(path, whole + "\n")  # the same file whole: both documents, no complaint
    assert len(standoff.read(path, "pubtator")) == 4 and not any(isinstance(r, Rejected) for r in read(str(path)))


def test_a_json_document_that_is_not_bioc_is_refused_in_one_line(tmp_path):
    from bioner_pl.formats import read

    path = write(tmp_path / "one.json", '{\n  "text": "A document."\n}\n')
    with pytest.raises(InputError, match="a JSON document, not JSON lines"):
        list(read(str(path)))


def test_bioc_training_files_are_checked_and_named(tmp_path, caplog):
    sentences = ds.load_split("exptm", "test", FIXTURE_DATA, None)[:14]
    xml = as_bioc(sentences, xml=True)
    annotation = xml.index("<annotation")
    cases = {  # what is wrong -> what the one-line error says (file:line)
        xml[:annotation] + xml[annotation:].replace('key="type"', 'key="kind"', 1): r"bad.xml:\d+: document 0, annotation \d+ has no type infon",
        xml.replace("<offset>0</offset>", "<offset>500</offset>", 1): r"bad.xml:\d+: document 0, annotation \d+: offsets",
        xml.replace("</collection>", ""): r"bad.xml:\d+: broken XML",
    }
    for text, says in cases.items():
        with pytest.raises(InputError, match=says):
            standoff.read(write(tmp_path / "bad.xml", text), "bioc")
    # a document that comes twice is read once, with a note naming its line
    doubled = xml.replace("</collection>", xml[xml.index("<document>"):xml.index("</document>") + 11] + "</collection>")
    caplog.set_level(logging.INFO, "bioner_pl")
    assert flat(standoff.read(write(tmp_path / "twice.xml", doubled), "bioc")) == flat(sentences)
    assert "document 0 again (first at line" in caplog.text and "1 repeated documents" in caplog.text


def test_json_lines_in_a_json_file_are_json_lines(tmp_path):
    from bioner_pl.formats import read

    path = write(tmp_path / "abstracts.json", '{"pmid": "7", "text": "APC mutations."}\n{"pmid": "8", "text": "p53."}\n')
    assert [d.fields["pmid"] for d in read(str(path))] == ["7", "8"]


def test_corpus_statistics_count_what_the_files_hold(tmp_path, capsys):
    """Table 1's counts, for one of ours and a user's folder, against counts made from the raw lines."""
    from bioner_pl.experiments import corpus_stats

    raw = {}
    for split, name in (("train", "train"), ("devel", "devel"), ("test", "test")):
        blocks = (FIXTURE_DATA / "Ex-PTM-IOB" / f"{name}.tsv").read_text().split("\n\n")
        rows = [[line.split("\t") for line in b.splitlines() if line.strip()] for b in blocks]
        rows = [r for r in rows if r and r[0][0] != "-DOCSTART-"]
        raw[split] = (len(rows), sum(len(r) for r in rows), sum(t[-1].startswith("B-") for r in rows for t in r))
    mine = tmp_path / "mine"
    for split in raw:
        write(mine / f"{split}.tsv", (FIXTURE_DATA / "Ex-PTM-IOB" / f"{split}.tsv").read_text())
    corpus_stats.run(compose_config("corpus_stats", [f"corpora=[exptm,{mine}]", f"data.dir={FIXTURE_DATA}"]))
    table = capsys.readouterr().out
    ours, theirs = [line.split(" | ") for line in table.splitlines() if line.startswith(("| exptm", "| mine"))]
    expected = " / ".join(f"{raw[s][0]:,}" for s in raw)
    assert ours[1] == theirs[1] == expected and ours[3] == f"{sum(r[1] for r in raw.values()):,}"
    assert ours[4] == f"Protein ({sum(r[2] for r in raw.values()):,})"
    assert ours[5] == "3,653" and theirs[5] == "—"  # the paper's Table 1 beside ours, where it has the corpus
    with pytest.raises(InputError, match="unknown corpus 'nope'"):
        corpus_stats.run(compose_config("corpus_stats", ["corpora=nope", f"data.dir={FIXTURE_DATA}"]))
