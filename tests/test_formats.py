"""Readers: every format, and every kind of bad input named with file, line and expectation."""

from __future__ import annotations

import io
import zipfile

import pytest

from ranklens.corpus.formats import Fields, detect_format, open_source, unique_docs
from ranklens.corpus.trec_files import (
    read_qrels,
    read_queries,
    read_run,
    run_file_name,
    trec_run_lines,
    write_qrels,
    write_run_files,
)
from ranklens.errors import InputError
from ranklens.evaluation.report import runs_zip
from ranklens.types import Hit, Qrel

from .conftest import assert_input_error, write_jsonl


def docs_of(path, fmt=None, fields=None):
    src = open_source(path, fmt, fields)
    try:
        return list(unique_docs(src.docs(), path))
    finally:
        src.cleanup()


def test_jsonl_ids_titles_texts(tmp_path):
    p = write_jsonl(
        tmp_path / "c.jsonl", [{"_id": "a", "title": "A", "text": "x"}, {"id": 7, "text": "y"}]
    )
    docs = docs_of(p)
    assert [(d.doc_id, d.title, d.text) for d in docs] == [("a", "A", "x"), ("7", "", "y")]
    assert docs[1].source == "c.jsonl:2"


def test_jsonl_custom_fields(tmp_path):
    p = write_jsonl(tmp_path / "c.jsonl", [{"key": "k1", "heading": "H", "body": "b"}])
    (doc,) = docs_of(p, fields=Fields(id="key", title="heading", text="body"))
    assert (doc.doc_id, doc.title, doc.text) == ("k1", "H", "b")


def test_csv_and_tsv(tmp_path):
    (tmp_path / "c.csv").write_text('id,title,text\n1,One,"hello, world"\n2,Two,bye\n')
    (tmp_path / "c.tsv").write_text("id\ttext\nx\tfirst\ny\tsecond\n")
    assert [d.text for d in docs_of(tmp_path / "c.csv")] == ["hello, world", "bye"]
    assert [d.doc_id for d in docs_of(tmp_path / "c.tsv")] == ["x", "y"]


def test_text_folder(tmp_path):
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("# Title A\n\nBody of a.")
    (folder / "sub" / "b.txt").write_text("Plain b.")
    (folder / "ignored.bin").write_bytes(b"\x00\x01")
    docs = docs_of(folder)
    assert [(d.doc_id, d.title) for d in docs] == [("a.md", "Title A"), ("sub/b.txt", "Plain b.")]
    assert detect_format(folder) == "text"


def test_pdf_one_document_per_page(tmp_path):
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    for text in ("First page words", "Second page words"):
        page = writer.add_blank_page(300, 300)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
        )
        stream = DecodedStreamObject()
        stream.set_data(f"BT /F1 12 Tf 20 200 Td ({text}) Tj ET".encode())
        page[NameObject("/Contents")] = writer._add_object(stream)
    pdf = tmp_path / "doc.pdf"
    with open(pdf, "wb") as fh:
        writer.write(fh)
    docs = docs_of(pdf)
    assert [d.doc_id for d in docs] == ["doc.pdf/p1", "doc.pdf/p2"]
    assert "Second page" in docs[1].text


def _beir(folder):
    folder.mkdir(parents=True)
    write_jsonl(
        folder / "corpus.jsonl",
        [{"_id": "d1", "title": "T", "text": "one"}, {"_id": "d2", "text": "two"}],
    )
    write_jsonl(
        folder / "queries.jsonl",
        [{"_id": "q1", "text": "first?"}, {"_id": "q2", "text": "second?"}],
    )
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\n")
    return folder


def test_beir_folder_brings_queries_and_qrels(tmp_path):
    root = _beir(tmp_path / "tiny")
    src = open_source(tmp_path / "tiny")
    assert src.format == "beir"
    assert [d.doc_id for d in src.docs()] == ["d1", "d2"]
    assert [q.query_id for q in src.query_sets["test"]] == ["q1"]
    assert src.qrels["test"] == [Qrel("q1", "d1", 2)]
    assert root.exists()


def test_beir_zip_nested_folder(tmp_path):
    root = _beir(tmp_path / "src" / "tiny")
    z = tmp_path / "tiny.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in root.rglob("*"):
            zf.write(f, f.relative_to(root.parent))
    src = open_source(z)
    assert [d.doc_id for d in src.docs()] == ["d1", "d2"]
    src.cleanup()


def test_zip_with_unexpected_layout(tmp_path):
    z = tmp_path / "odd.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    with pytest.raises(InputError) as err:
        open_source(z)
    assert "odd.zip" in str(err.value) and "corpus.jsonl" in str(err.value)


@pytest.mark.parametrize(
    "content, line, words",
    [
        ('{"_id": "a", "text": "x"}\n{"_id": "b", "text": \n', 2, "invalid JSON"),
        ('{"_id": "a", "text": "x"}\n\n{"_id": "b", "body": "y"}\n', 3, "'text'"),
        ('{"_id": "a", "text": "x"}\n["not", "an", "object"]\n', 2, "JSON object"),
        ('{"text": "no id"}\n', 1, "no document id"),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path, content, line, words):
    assert_input_error(docs_of, tmp_path / "bad.jsonl", content, line, words)


def test_duplicate_ids_name_both_lines(tmp_path):
    p = write_jsonl(
        tmp_path / "dup.jsonl",
        [{"_id": "a", "text": "x"}, {"_id": "b", "text": "y"}, {"_id": "a", "text": "z"}],
    )
    with pytest.raises(InputError) as err:
        docs_of(p)
    assert err.value.line == 3 and "duplicate document id 'a'" in str(err.value)
    assert "dup.jsonl:1" in str(err.value)


def test_empty_binary_undecodable_unknown_missing(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "bin.jsonl").write_bytes(b"\x89PNG\x00\x00\x01")
    (tmp_path / "latin.jsonl").write_bytes(
        '{"_id": "a", "text": "ok"}\n{"_id": "b", "text": "caf\xe9"}\n'.encode("latin-1")
    )
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    cases = {
        "empty.jsonl": "empty",
        "bin.jsonl": "binary",
        "latin.jsonl": "not UTF-8",
        "data.xlsx": "unknown format",
        "missing.jsonl": "no such file",
    }
    for name, words in cases.items():
        with pytest.raises(InputError) as err:
            docs_of(tmp_path / name)
        assert name in str(err.value) and words in str(err.value), str(err.value)
    with pytest.raises(InputError) as err:
        docs_of(tmp_path / "latin.jsonl")
    assert err.value.line == 2


def test_csv_wrong_column_count(tmp_path):
    (tmp_path / "c.csv").write_text("id,text\n1,fine\n2,too,many\n")
    with pytest.raises(InputError) as err:
        docs_of(tmp_path / "c.csv")
    assert err.value.line == 3 and "expected 2" in str(err.value)


def test_queries_jsonl_and_tsv(tmp_path):
    write_jsonl(tmp_path / "q.jsonl", [{"_id": "1", "text": "a?"}])
    (tmp_path / "q.tsv").write_text("1\ta?\n2\tb?\n")
    assert read_queries(tmp_path / "q.jsonl")[0].text == "a?"
    assert [q.query_id for q in read_queries(tmp_path / "q.tsv")] == ["1", "2"]
    (tmp_path / "bad.tsv").write_text("1\ta?\n2 b?\n")
    with pytest.raises(InputError) as err:
        read_queries(tmp_path / "bad.tsv")
    assert err.value.line == 2


@pytest.mark.parametrize("fmt", ["trec", "beir"])
def test_qrels_round_trip(tmp_path, fmt):
    labels = [Qrel("q1", "d1", 2), Qrel("q1", "d2", 0), Qrel("q2", "d1#3", 3)]
    write_qrels(labels, tmp_path / "qrels", fmt)
    assert [q for _, q in read_qrels(tmp_path / "qrels")] == labels


def test_qrels_errors(tmp_path):
    (tmp_path / "q.trec").write_text("q1 0 d1 1\nq1 0 d2\n")
    with pytest.raises(InputError) as err:
        list(read_qrels(tmp_path / "q.trec", "trec"))
    assert err.value.line == 2 and "expected 4" in str(err.value)
    (tmp_path / "g.trec").write_text("q1 0 d1 high\n")
    with pytest.raises(InputError, match="not an integer"):
        list(read_qrels(tmp_path / "g.trec", "trec"))


def test_run_file_round_trip(tmp_path):
    run = {"q1": [Hit("q1", "d2#0", "d2", 3.5, 1), Hit("q1", "d1#0", "d1", 1.25, 2)]}
    path = tmp_path / "run.txt"
    path.write_text("".join(trec_run_lines(run, "rrf(bm25,x)")))
    assert path.read_text().splitlines()[0] == "q1 Q0 d2 1 3.500000000 rrf(bm25,x)"
    back = read_run(path)
    assert [(h.doc_id, h.rank, h.score) for h in back["q1"]] == [("d2", 1, 3.5), ("d1", 2, 1.25)]


def test_run_file_keeps_our_order_when_scores_tie(tmp_path):
    """trec_eval orders by score then doc id; tied scores are nudged so it keeps our order."""
    import pytrec_eval

    # rrf(A,B) with A=[a,z,m], B=[z,a,m]: a and z tie; we rank a first
    run = {"q": [Hit("q", "a", "a", 1 / 61 + 1 / 62, 1), Hit("q", "z", "z", 1 / 61 + 1 / 62, 2)]}
    run["q"].append(Hit("q", "m", "m", 2 / 63, 3))
    path = tmp_path / "tied.run"
    path.write_text("".join(trec_run_lines(run, "rrf")))
    back = {}
    for line in path.read_text().splitlines():
        qid, _, doc, _, score, _ = line.split()
        back.setdefault(qid, {})[doc] = float(score)
    assert back["q"]["a"] > back["q"]["z"] > back["q"]["m"]
    rr = pytrec_eval.RelevanceEvaluator({"q": {"a": 1}}, {"recip_rank"}).evaluate(back)
    assert rr["q"]["recip_rank"] == 1.0  # as RankLens scores it, not 0.5


def test_ids_with_white_space(tmp_path):
    folder = tmp_path / "notes"
    (folder / "sub dir").mkdir(parents=True)
    (folder / "my cats.txt").write_text("Cats purr.")
    (folder / "sub dir" / "rockets.md").write_text("Rockets fly.")
    assert {d.doc_id for d in docs_of(folder)} == {"my_cats.txt", "sub_dir/rockets.md"}
    bad = write_jsonl(
        tmp_path / "ids.jsonl", [{"_id": "ok", "text": "x"}, {"_id": "a b", "text": "y"}]
    )
    with pytest.raises(InputError) as err:
        docs_of(bad)
    assert err.value.line == 2 and "white space" in str(err.value)
    with pytest.raises(InputError, match="white space"):
        write_qrels([Qrel("q 1", "d", 1)], tmp_path / "q.trec")


def test_run_file_names_stay_unique_for_long_recipes(tmp_path):
    # two recipes longer than 120 characters that differ only at the end
    head = "rrf(" + ",".join(f"dense-model-number-{i}" for i in range(8))
    a, b = head + ",bm25)", head + ",bm25s)"
    assert len(a) > 120 and len(b) > 120
    plain = "x" * 130  # already safe, but longer than the cut
    names = {run_file_name(r) for r in (a, b, plain, plain + "y")}
    assert len(names) == 4
    assert all(len(n) <= 120 + 1 + 12 + len(".run") for n in names)
    assert run_file_name(a) == run_file_name(a)  # stable
    assert run_file_name("bm25") == "bm25.run" and run_file_name("..") != ".."
    run = {"q1": [Hit("q1", "d#0", "d", 1.0, 1)]}
    written = write_run_files({a: run, b: run}, tmp_path / "runs")
    assert len({p.name for p in written}) == 2 and len(list((tmp_path / "runs").iterdir())) == 2
    with zipfile.ZipFile(io.BytesIO(runs_zip({a: run, b: run}))) as zf:
        entries = zf.namelist()
    assert len(entries) == 2 and len(set(entries)) == 2
