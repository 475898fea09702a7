"""PubMed-baseline-shaped .xml.gz of real abstract text: sentences of NCBI-disease, BC5CDR and
BioNLP13PC (train splits), detokenized by spaces, nine to an abstract, first sentence as title."""
import gzip, sys, itertools
from xml.sax.saxutils import escape
import os
root = os.environ["BIONER_DATA_DIR"]  # the MTL-Bioinformatics-2016 folder
def sentences(path):
    s = []
    for line in open(path):
        line = line.rstrip("\n")
        if not line:
            if s: yield " ".join(s); s = []
        else:
            s.append(line.split("\t")[0])
pool = [x for c in ("NCBI-disease-IOB", "BC5CDR-IOB", "BioNLP13PC-IOB") for x in sentences(f"{root}/{c}/train.tsv")]
n, out = int(sys.argv[1]), sys.argv[2]
cycle = itertools.cycle(pool)
with gzip.open(out, "wt", encoding="utf-8") as f:
    f.write('<?xml version="1.0" encoding="utf-8"?>\n<PubmedArticleSet>\n')
    for pmid in range(1, n + 1):
        title = escape(next(cycle)); body = escape(" ".join(next(cycle) for _ in range(8)))
        f.write(f"<PubmedArticle><MedlineCitation><PMID Version=\"1\">{pmid}</PMID><Article><ArticleTitle>{title}</ArticleTitle>"
                f"<Abstract><AbstractText>{body}</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>\n")
    f.write("</PubmedArticleSet>\n")
