"""`python -m ranklens evaluate` and ranklens.evaluation.report: numbers equal pytrec_eval's on the run files
written, labels from a file, the corpus or the judgment store, one-line errors, escaped exports.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pandas as pd
import pytest
import pytrec_eval

from ranklens.cli import main
from ranklens.corpus import ingest, trec_files
from ranklens.corpus.trec_files import read_run
from ranklens.evaluation import measures as ev
from ranklens.evaluation import report, stats
from ranklens.judging import JudgmentStore
from ranklens.types import Hit, Query

from .conftest import write_beir, write_jsonl, write_topics

QUERIES = [
    ("q1", "python list append sort"),
    ("q2", "memory safety ownership borrowing"),
    ("q3", "green tea temperature bitterness"),
    ("q4", "moon orbit tides"),
    ("q5", "yeast bread"),  # no label: not evaluated
]
QRELS = [  # (query, doc, grade)
    ("q1", "py", 2),
    ("q1", "rust", 0),
    ("q2", "rust", 3),
    ("q2", "py", 1),
    ("q3", "tea", 1),
    ("q3", "bread", 0),
    ("q4", "moon", 2),
    ("q4", "tea", 1),
    ("q4", "bread", 1),
]
TREC_NAMES = {  # our name -> (what pytrec_eval is asked for, the key it answers with)
    "nDCG@10": ("ndcg_cut.10", "ndcg_cut_10"),
    "R@100": ("recall.100", "recall_100"),
    "AP": ("map", "map"),
    "RR": ("recip_rank", "recip_rank"),
    "P@5": ("P.5", "P_5"),
}


@pytest.fixture
def tiny(home, small_jsonl, fake_encoder, tmp_path):
    """A corpus with bm25 and the fake encoder, a queries file and a TREC qrels file."""
    corpus = ingest.ingest(small_jsonl, "tiny", ["bm25", fake_encoder.name], home)
    return (corpus, *write_topics(tmp_path, QUERIES, QRELS))


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["evaluate", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def pytrec_means(run_file, qrels: list[tuple[str, str, int]], measures: list[str]) -> dict:
    """Oracle: pytrec_eval on a run file, averaged over every labelled query (absent = 0).

    Scores are taken as 1000 - rank so that pytrec_eval sees the file's order even where two
    scores tie (RankLens evaluates the order it shows; see ranklens.evaluation.measures)."""
    qd: dict[str, dict[str, int]] = {}
    for q, d, g in qrels:
        qd.setdefault(q, {})[d] = g
    run = {q: {h.doc_id: 1000.0 - h.rank for h in hits} for q, hits in read_run(run_file).items()}
    evaluator = pytrec_eval.RelevanceEvaluator(qd, {TREC_NAMES[m][0] for m in measures})
    per_query = evaluator.evaluate({q: r for q, r in run.items() if q in qd})
    return {
        m: sum(per_query.get(q, {}).get(TREC_NAMES[m][1], 0.0) for q in qd) / len(qd)
        for m in measures
    }


def test_json_means_equal_pytrec_eval_on_the_written_run_files(tiny, capsys, tmp_path):
    _, queries, qrels = tiny
    measures = list(TREC_NAMES)
    rankers = ["bm25", "fake-encoder", "rrf(bm25,fake-encoder)"]
    runs_dir = tmp_path / "runs"
    rc, out, err = run_cli(
        capsys,
        *("--corpus", "tiny", "--queries", str(queries), "--qrels", str(qrels)),
        *("--rankers", *rankers, "--measures", *measures, "--k", "100"),
        *("--json", "--runs-dir", str(runs_dir)),
    )
    assert rc == 0, err
    means = json.loads(out)
    assert list(means) == rankers
    files = {p.name for p in runs_dir.iterdir()}
    assert files == {trec_files.run_file_name(r) for r in rankers}
    for r in rankers:
        run_file = runs_dir / trec_files.run_file_name(r)
        lines = run_file.read_text().splitlines()
        assert len({(x.split()[0], x.split()[2]) for x in lines}) == len(lines)  # doc level
        assert "q5" not in {x.split()[0] for x in lines}  # only labelled queries are ranked
        oracle = pytrec_means(run_file, QRELS, measures)
        assert list(means[r]) == measures
        for m in measures:
            assert means[r][m] == pytest.approx(oracle[m], abs=1e-9), (r, m)
    assert "1 of 5 queries have no label" in err


def test_per_query_values_average_to_the_means(tiny, capsys):
    _, queries, qrels = tiny
    rc, out, _ = run_cli(
        capsys,
        *("--corpus", "tiny", "--queries", str(queries), "--qrels", str(qrels)),
        *("--rankers", "bm25", "--measures", "nDCG@10", "P(rel=2)@5", "--json", "--per-query"),
    )
    assert rc == 0
    data = json.loads(out)
    assert set(data) == {"mean", "per_query"}
    per_query = data["per_query"]["bm25"]
    assert set(per_query["nDCG@10"]) == {"q1", "q2", "q3", "q4"}
    for m in ("nDCG@10", "P(rel=2)@5"):
        values = list(per_query[m].values())
        assert sum(values) / len(values) == pytest.approx(data["mean"]["bm25"][m], abs=1e-12)
    # P(rel=2)@5 counts grades >= 2 only: q3 (best grade 1) must be 0 whatever is retrieved
    assert per_query["P(rel=2)@5"]["q3"] == 0.0


def test_text_output_and_condensed(tiny, capsys, tmp_path):
    _, queries, qrels = tiny
    base = ("--corpus", "tiny", "--queries", str(queries), "--qrels", str(qrels))
    rc, out, _ = run_cli(capsys, *base, "--rankers", "bm25", "--measures", "nDCG@10", "P@5")
    assert rc == 0
    header, row = out.splitlines()[:2]
    assert header.split() == ["ranker", "nDCG@10", "P@5"]
    assert row.split()[0] == "bm25"
    # "green tea black tea moon": BM25 ranks the tea document (unjudged here) above the moon
    # document (grade 1), so RR is 1/2 with plain lists and 1 with condensed lists.
    q6 = write_jsonl(tmp_path / "q6.jsonl", [{"_id": "q6", "text": "green tea black tea moon"}])
    labels = tmp_path / "q6.txt"
    labels.write_text("q6 0 moon 1\nq6 0 bread 0\n")
    args = ("--corpus", "tiny", "--queries", str(q6), "--qrels", str(labels), "--rankers", "bm25")
    args += ("--measures", "RR", "--json")
    assert json.loads(run_cli(capsys, *args)[1]) == {"bm25": {"RR": 0.5}}
    assert json.loads(run_cli(capsys, *args, "--condensed")[1]) == {"bm25": {"RR": 1.0}}


def test_labels_from_the_judgment_store_follow_the_rule(tiny, capsys, home, tmp_path):
    corpus, _, _ = tiny
    corpus.add_query_set("topics", [Query(q, t) for q, t in QUERIES])
    with JudgmentStore(home.db_url) as store:
        # alice and bob disagree on q2/rust: max -> 3, min -> 1
        store.add_label("tiny", "alice", "q2", "rust#0", 3, doc_id="rust")
        store.add_label("tiny", "bob", "q2", "rust#0", 1, doc_id="rust")
        store.add_label(
            "tiny", "alice", "q1", "py#1", 2, doc_id="py"
        )  # doc level: py's best passage grade
        store.add_label("tiny", "alice", "q1", "py#0", 1, doc_id="py")
    expected = {"max": {"q2": {"rust": 3}}, "min": {"q2": {"rust": 1}}}
    for rule, labels in expected.items():
        qrels = tmp_path / f"{rule}.txt"
        qrels.write_text(f"q1 0 py 2\nq2 0 rust {labels['q2']['rust']}\n")
        args = ("--corpus", "tiny", "--rankers", "bm25", "--measures", "P(rel=2)@5", "nDCG@10")
        rc, out, err = run_cli(capsys, *args, "--json", "--rule", rule)
        assert rc == 0, err
        from_store = json.loads(out)
        rc, out, _ = run_cli(capsys, *args, "--json", "--queries", "topics", "--qrels", str(qrels))
        assert from_store == json.loads(out)
    rc, out_max, _ = run_cli(
        capsys, "--corpus", "tiny", "--measures", "P(rel=2)@5", "--json", "--rule", "max"
    )
    rc, out_min, _ = run_cli(
        capsys, "--corpus", "tiny", "--measures", "P(rel=2)@5", "--json", "--rule", "min"
    )
    assert json.loads(out_max)["bm25"]["P(rel=2)@5"] > json.loads(out_min)["bm25"]["P(rel=2)@5"]


def test_passage_level_uses_passage_labels_and_warns_about_document_labels(tiny, capsys, home):
    corpus, _, _ = tiny
    corpus.add_query_set("topics", [Query(q, t) for q, t in QUERIES])
    with JudgmentStore(home.db_url) as store:
        store.add_label("tiny", "alice", "q2", "rust#0", 3, doc_id="rust")
        store.add_label("tiny", "alice", "q3", "", 2, doc_id="tea")  # a whole document
    args = ("--corpus", "tiny", "--rankers", "bm25", "--measures", "RR", "--json", "--per-query")
    rc, out, err = run_cli(capsys, *args, "--level", "passage")
    assert rc == 0, err
    per_query = json.loads(out)["per_query"]["bm25"]["RR"]
    assert per_query == {"q2": 1.0, "q3": 0.0}  # rust#0 is BM25's first passage for q2
    assert "1 of 2 labels name whole documents" in err
    rc, out, err = run_cli(capsys, *args)  # document level: both labels count
    assert json.loads(out)["per_query"]["bm25"]["RR"] == {"q2": 1.0, "q3": 1.0}
    assert "name whole documents" not in err


def test_beir_folder_brings_its_own_queries_and_labels(home, tmp_path, capsys):
    docs = [
        ("d1", "Tea", "green tea is brewed cooler than black tea"),
        ("d2", "Moon", "the moon causes the tides"),
        ("d3", "Bread", "sourdough bread uses wild yeast"),
    ]
    queries = [("1", "tea brewing"), ("2", "tides")]
    folder = write_beir(tmp_path / "beirtiny", docs, queries, [("1", "d1", 2), ("2", "d2", 1)])
    ingest.ingest(folder, "beirtiny", ["bm25"], home)
    rc, out, err = run_cli(capsys, "--corpus", "beirtiny", "--measures", "nDCG@10", "RR", "--json")
    assert rc == 0, err
    own = json.loads(out)
    assert own == {"bm25": {"nDCG@10": 1.0, "RR": 1.0}}  # each query's one label is ranked first
    qrels = tmp_path / "other.txt"
    qrels.write_text("1 0 d3 1\n2 0 d2 1\n")  # d3 has no term of query 1: RR(1) = 0
    rc, out, _ = run_cli(
        capsys, "--corpus", "beirtiny", "--qrels", str(qrels), "--measures", "RR", "--json"
    )
    assert json.loads(out) == {"bm25": {"RR": 0.5}}


@pytest.mark.parametrize(
    "extra, expected",
    [
        (("--measures", "nDCG@10", "bogus@3"), "Unknown measure 'bogus@3'"),
        (("--rankers", "nosuchmodel"), "unknown ranker 'nosuchmodel'"),
        (("--k", "0"), "k must be an integer from 1 to"),
        (("--qrels", "BADQRELS"), "bad.txt, line 2"),
        (("--qrels", "NOMATCH"), "none of the labels"),
        (("--queries", "nosuchset"), "nor a query set of corpus 'tiny'"),
    ],
)
def test_errors_are_one_clear_line_and_exit_2(tiny, capsys, tmp_path, extra, expected):
    _, queries, qrels = tiny
    bad = tmp_path / "bad.txt"
    bad.write_text("q1 0 py 2\nq2 0 rust\n")
    nomatch = tmp_path / "nomatch.txt"
    nomatch.write_text("zz 0 py 1\n")
    extra = tuple({"BADQRELS": str(bad), "NOMATCH": str(nomatch)}.get(a, a) for a in extra)
    args = ["--corpus", "tiny", "--queries", str(queries), "--qrels", str(qrels), "--json"]
    for i in range(0, len(extra), 2):  # an option given again replaces the default above
        if extra[i] in args:
            j = args.index(extra[i])
            del args[j : j + 2]
    rc, out, err = run_cli(capsys, *args, *extra)
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected in lines[0]


def test_no_labels_says_how_to_get_them(tiny, capsys):
    corpus, _, _ = tiny
    corpus.add_query_set("topics", [Query(q, t) for q, t in QUERIES])
    rc, out, err = run_cli(capsys, "--corpus", "tiny", "--json")
    assert rc == 2 and out == ""
    assert "no labels" in err and "judgments import" in err and "--qrels" in err
    rc, _, err = run_cli(capsys, "--corpus", "nosuch")
    assert rc == 2 and "no corpus named 'nosuch'" in err


def test_report_file_is_self_contained(tiny, capsys, tmp_path):
    _, queries, qrels = tiny
    target = tmp_path / "report.html"
    rc, _, err = run_cli(
        capsys,
        *("--corpus", "tiny", "--queries", str(queries), "--qrels", str(qrels)),
        *("--rankers", "bm25", "fake-encoder", "--measures", "nDCG@10", "AP"),
        *("--report", str(target), "--test", "t"),
    )
    assert rc == 0, err
    text = target.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "Plotly" in text and not re.search(r"<script[^>]+src=", text)  # plotly.js inlined
    assert text.count("Plotly.newPlot") >= 3  # summary bars, p-values, difference, curve
    assert "Judged@10" in text and "Borda" in text and "Per-query values" in text


# -------------------------------------------------------------------------------- report.py


def hostile_per_query() -> pd.DataFrame:
    bad_ranker = "</script><script>alert('r')</script>"
    bad_query = "<img src=x onerror=alert(1)>"
    rows = []
    for r, vals in (("good", [1.0, 0.5, 0.8, 0.9]), (bad_ranker, [0.0, 0.25, 0.1, 0.2])):
        for q, v in zip(["q1", bad_query, "q3", "q4"], vals, strict=True):
            rows.append((r, q, "nDCG@10", v))
    return pd.DataFrame(rows, columns=ev.COLUMNS)


def test_html_report_escapes_every_text_from_the_data():
    pq = hostile_per_query()
    sig = {"nDCG@10": stats.pairwise_significance(pq, "nDCG@10", "t")}
    text = report.html_report(
        pq,
        context={"corpus": "<b>bold</b>"},
        significance=sig,
        judged={"good": 1.0, "</script><script>alert('r')</script>": 0.5},
        differences=("nDCG@10", "good", "</script><script>alert('r')</script>"),
    )
    for raw in ("<script>alert", "<img src=x", "<b>bold</b>"):
        assert raw not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text
    assert "only 50% of the top-10 results are judged" in text  # the Judged@10 warning


def test_summary_display_marks_significant_wins():
    pq = hostile_per_query().replace("</script><script>alert('r')</script>", "weak")
    pairs = stats.pairwise_significance(pq, "nDCG@10", "t")
    summ = stats.summary(pq)
    table = report.summary_display(summ, {"nDCG@10": pairs})
    row = table.set_index("ranker").loc
    mean = summ.set_index("ranker").loc["good", "mean"]
    assert row["good", "nDCG@10"].startswith(f"{mean:.3f} [")
    significant = bool(pairs["significant"].iloc[0])
    # marks follow the Holm-adjusted test: a wins over b shows as "▲b" on a's cell only
    assert row["good", "nDCG@10"].endswith("▲b") is significant
    assert "▲" not in row["weak", "nDCG@10"]
    assert significant == (pairs["p_holm"].iloc[0] < 0.05)


def test_run_files_and_csv_round_trip():
    run = {
        "q1": [
            Hit("q1", "d1#1", "d1", 3.0, 1),
            Hit("q1", "d2#0", "d2", 2.0, 2),
            Hit("q1", "d1#0", "d1", 1.0, 3),
        ]
    }
    doc_lines = trec_files.run_file_text(run, "rrf(a,b)", "doc").splitlines()
    assert doc_lines == ["q1 Q0 d1 1 3.000000000 rrf(a,b)", "q1 Q0 d2 2 2.000000000 rrf(a,b)"]
    passage_lines = trec_files.run_file_text(run, "x", "passage").splitlines()
    assert [line.split()[2] for line in passage_lines] == ["d1#1", "d2#0", "d1#0"]
    blob = report.runs_zip({"bm25": run, "rrf(a,b)": run})
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert sorted(zf.namelist()) == sorted(
            [trec_files.run_file_name("bm25"), trec_files.run_file_name("rrf(a,b)")]
        )
    assert trec_files.run_file_name("bm25") == "bm25.run"
    assert trec_files.run_file_name("rrf(a,b)") != trec_files.run_file_name("rrf(a_b)")
    pq = hostile_per_query()
    back = pd.read_csv(io.StringIO(report.per_query_csv(pq)))
    assert list(back.columns) == ["query_id", "ranker", "nDCG@10"]
    merged = back.merge(pq, on=["query_id", "ranker"])
    assert (merged["nDCG@10"] == merged["value"]).all() and len(merged) == len(pq)


def test_document_ids_with_hash_are_never_parsed_out_of_passage_ids(home, tmp_path, capsys):
    """`report#2` is a document; `report` is another whose third passage is `report#2`."""
    moon = "The Moon orbits the Earth roughly every 27 days and causes the tides. " * 30
    docs = [
        {"_id": "report#2", "text": "Green tea is brewed cooler than black tea to stay sweet."},
        {"_id": "report", "text": moon},  # ~420 words: passages report#0, report#1, report#2
        {"_id": "memo#1", "text": "Sourdough bread rises with wild yeast and lactic bacteria."},
        {"_id": "py", "text": "Python lists are mutable sequences you can append to and sort."},
    ]
    corpus = ingest.ingest(write_jsonl(tmp_path / "hash.jsonl", docs), "hash", ["bm25"], home)
    passages = corpus.get_passages(["report#2", "report#2#0", "memo#1#0"])
    assert passages["report#2"].doc_id == "report" and passages["report#2#0"].doc_id == "report#2"
    corpus.add_query_set(
        "topics", [Query("tea", "green tea brewed"), Query("bread", "sourdough yeast")]
    )
    doc_qrels = tmp_path / "doc.txt"
    doc_qrels.write_text("tea 0 report#2 2\nbread 0 memo#1 1\n")
    args = ("--corpus", "hash", "--rankers", "bm25", "--measures", "RR", "--json", "--per-query")
    runs_dir = tmp_path / "runs"
    rc, out, err = run_cli(capsys, *args, "--qrels", str(doc_qrels), "--runs-dir", str(runs_dir))
    assert rc == 0, err
    assert json.loads(out)["per_query"]["bm25"]["RR"] == {"tea": 1.0, "bread": 1.0}
    top = {q: hits[0].doc_id for q, hits in read_run(runs_dir / "bm25.run").items()}
    assert top == {"tea": "report#2", "bread": "memo#1"}
    # passage-level labels from a file: looked up in the corpus, each counts for its document
    passage_qrels = tmp_path / "passage.txt"
    passage_qrels.write_text("tea 0 report#2#0 2\nbread 0 memo#1#0 1\n")
    rc, out, err = run_cli(capsys, *args, "--qrels", str(passage_qrels))
    assert rc == 0, err
    assert json.loads(out)["per_query"]["bm25"]["RR"] == {"tea": 1.0, "bread": 1.0}
    assert "2 labels name passages" in err
    # at passage level, `memo#1` and `report#2`: memo#1 is a whole document (warned), while
    # report#2 is a passage of `report` (not the tea document), so RR for tea is 0
    rc, out, err = run_cli(capsys, *args, "--qrels", str(doc_qrels), "--level", "passage")
    assert rc == 0, err
    assert json.loads(out)["per_query"]["bm25"]["RR"] == {"tea": 0.0, "bread": 0.0}
    assert "1 of 2 labels name whole documents" in err
