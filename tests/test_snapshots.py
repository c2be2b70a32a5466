"""Snapshots: kept in the judgment store (SQLite and PostgreSQL), listed, compared per query,
warned about when labels or the corpus changed, exported as TREC runs plus a manifest; the CLI.
"""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pytest
import pytrec_eval

from ranklens.cli import main
from ranklens.corpus import ingest
from ranklens.corpus.trec_files import read_run
from ranklens.errors import InputError, NotFoundError, RankLensError
from ranklens.evaluation import measures as ev
from ranklens.evaluation import snapshots, snapshots_store
from ranklens.types import Hit, Qrel

from .conftest import write_beir, write_topics

QUERIES = [
    ("q1", "python list append sort"),
    ("q2", "memory safety ownership borrowing"),
    ("q3", "green tea temperature"),
    ("q4", "moon orbit tides"),
]
QRELS = [("q1", "py", 2), ("q2", "rust", 3), ("q3", "tea", 1), ("q4", "moon", 2), ("q4", "tea", 1)]


class FakeCorpus:
    """What make_snapshot reads of an index.Corpus: name, manifest, indexes."""

    def __init__(self, fingerprint: str = "f" * 64, uid: str = "u1") -> None:
        self.name = "c"
        self.manifest = {
            "uid": uid,
            "fingerprint": fingerprint,
            "documents": 3,
            "passages": 3,
            "chunking": {"max_words": 160, "overlap_words": 32},
            "indexes": {"bm25": {"kind": "sparse", "status": "complete", "params": {"k1": 0.9}}},
        }

    def indexes(self):
        return self.manifest["indexes"]


def _run(order: dict[str, list[str]]) -> dict:
    return {
        q: [Hit(q, f"{d}#0", d, float(10 - i), i) for i, d in enumerate(docs, 1)]
        for q, docs in order.items()
    }


def _snap(name, order, qrels, corpus=None, settings=None):
    corpus = corpus or FakeCorpus()
    runs = {"bm25": _run(order)}
    per_query = ev.evaluate_runs(runs, qrels, ["nDCG@10", "RR"], "doc")
    settings = {"k": 10} if settings is None else settings
    return snapshots.make_snapshot(name, corpus, "test", runs, per_query, qrels, "doc", settings)


QR = [Qrel("a", "d1", 1), Qrel("b", "d2", 2), Qrel("c", "d3", 1)]
BEFORE = {"a": ["d1", "d2"], "b": ["d1", "d2"], "c": ["d3", "d1"]}
AFTER = {"a": ["d2", "d1"], "b": ["d2", "d1"], "c": ["d3", "d2"]}  # a worse, b better, c moved


def test_labels_hash_is_content_only():
    a = [Qrel("q", "d1", 1), Qrel("q", "d2", 0)]
    assert snapshots.labels_hash(a) == snapshots.labels_hash(list(reversed(a)))
    assert snapshots.labels_hash(a) != snapshots.labels_hash([Qrel("q", "d1", 2), a[1]])
    # a repeated pair keeps its last grade, as evaluation does
    assert snapshots.labels_hash([Qrel("q", "d1", 0), *a]) == snapshots.labels_hash(a)


def test_save_load_round_trip_and_names(store):
    snap = snapshots_store.save(store, _snap("base", BEFORE, QR))
    got = snapshots_store.load(store, "c", "base")
    assert got.rankers == ["bm25"] and got.measures == ["nDCG@10", "RR"]
    assert got.labels_count == 3 and got.labels_hash == snapshots.labels_hash(QR)
    pd.testing.assert_frame_equal(
        got.per_query.sort_values(["measure", "query_id"]).reset_index(drop=True),
        snap.per_query.sort_values(["measure", "query_id"]).reset_index(drop=True),
    )
    assert [h.doc_id for h in got.runs["bm25"]["a"]] == ["d1", "d2"]
    assert got.manifest["models"]["bm25"]["package"] == "bm25s"
    assert got.manifest["models"]["bm25"]["version"]  # bm25s is installed: its version is kept
    assert got.manifest["settings"] == {"k": 10}
    with pytest.raises(InputError, match="already has a snapshot named 'base'"):
        snapshots_store.save(store, _snap("base", AFTER, QR))
    snapshots_store.save(store, _snap("base", AFTER, QR), replace=True)
    assert [h.doc_id for h in snapshots_store.load(store, "c", "base").runs["bm25"]["a"]] == [
        "d2",
        "d1",
    ]
    assert [r["name"] for r in snapshots_store.list_snapshots(store, "c")] == ["base"]
    with pytest.raises(NotFoundError, match="its snapshots: base"):
        snapshots_store.load(store, "c", "nope")
    snapshots_store.delete(store, "c", "base")
    assert snapshots_store.list_snapshots(store) == []


def test_compare_says_what_moved_and_what_got_worse():
    a, b = _snap("before", BEFORE, QR), _snap("after", AFTER, QR)
    result = snapshots.compare([a, b], "nDCG@10")
    t = result.table.set_index("query_id")
    assert t.loc["a", "status"] == "worse" and t.loc["b", "status"] == "better"
    assert t.loc["c", "status"] == "same" and bool(t.loc["c", "moved"])
    assert t.loc["a", "delta"] == pytest.approx(t.loc["a", "after"] - t.loc["a", "before"])
    assert result.counts() == {"better": 1, "worse": 1, "same": 1}
    assert not result.labels_differ and result.warnings == []
    three = snapshots.compare([a, b, _snap("again", BEFORE, QR)], "RR")
    assert list(three.table.columns[:4]) == ["query_id", "before", "after", "again"]
    assert (three.table["delta"] == 0).all() and not three.table["moved"].any()
    with pytest.raises(RankLensError, match="two or more"):
        snapshots.compare([a])
    with pytest.raises(RankLensError, match="no P@5 for ranker 'bm25'"):
        snapshots.compare([a, b], "P@5")


def test_compare_sorts_by_the_size_of_the_change():
    a = _snap("before", BEFORE, QR)
    b = _snap("after", {"a": ["d2", "d1"], "b": ["d1", "d2"], "c": ["d1", "d2"]}, QR)
    table = snapshots.compare([a, b], "RR").table
    sizes = table["delta"].abs().tolist()
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 0 and sizes[-1] == 0


def test_compare_flags_every_setting_that_differs():
    same = {"k": 10, "condensed": False, "rule": "majority", "labels": "store"}
    a = _snap("plain", BEFORE, QR, settings=same)
    b = _snap("condensed", AFTER, QR, settings={**same, "condensed": True, "k": 100})
    result = snapshots.compare([a, b], "nDCG@10")
    assert set(result.settings_differ) == {"condensed", "k"}
    assert result.settings_differ["condensed"] == {"plain": "False", "condensed": "True"}
    assert any("different settings" in w and "condensed" in w for w in result.warnings)
    assert snapshots.compare([a, _snap("again", AFTER, QR, settings=same)]).settings_differ == {}
    c = _snap("other-rule", AFTER, QR, settings={**same, "rule": "max", "labels": "shipped"})
    assert {"labels rule", "label source"} <= set(snapshots.compare([a, c]).settings_differ)
    relabelled = _snap("relabelled", AFTER, [*QR[:2], Qrel("c", "d3", 0)], settings=same)
    assert "labels" in snapshots.compare([a, relabelled]).settings_differ
    other = _snap("other", AFTER, QR, corpus=FakeCorpus(fingerprint="0" * 64), settings=same)
    assert "corpus" in snapshots.compare([a, other]).settings_differ
    listed = snapshots.settings_of(a, "nDCG@10")
    assert list(listed) == list(snapshots.SETTING_NAMES) and listed["measure"] == "nDCG@10"


def test_changed_labels_and_corpus_are_warned():
    a = _snap("before", BEFORE, QR)
    relabelled = [*QR[:2], Qrel("c", "d3", 0)]
    b = _snap("after", BEFORE, relabelled)
    assert snapshots.compare([a, b], "nDCG@10").labels_differ
    assert snapshots.changes_since(a, FakeCorpus(), QR) == []
    warnings = snapshots.changes_since(a, FakeCorpus(fingerprint="0" * 64, uid="u2"), relabelled)
    assert len(warnings) == 3
    assert "deleted and created again" in warnings[0]
    assert "documents of corpus 'c' changed" in warnings[1]
    assert "labels changed" in warnings[2]
    assert "no longer exists" in snapshots.changes_since(a, None)[0]
    uploaded = _snap("up", BEFORE, QR)
    uploaded.manifest["settings"]["label_source"] = "upload"
    qrels, why = snapshots.current_labels(uploaded, FakeCorpus())
    assert qrels is None and "uploaded file" in why  # never compared with other labels


def test_export_is_trec_runs_and_a_manifest(tmp_path):
    snap = _snap("base", BEFORE, QR)
    paths = snapshots.export(snap, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["name"] == "base" and manifest["labels"]["count"] == 3
    run_path = tmp_path / "out" / manifest["run_files"]["bm25"]
    assert run_path in paths
    run = read_run(run_path)
    assert [h.doc_id for h in run["a"]] == ["d1", "d2"]
    # trec_eval on the exported run gives the snapshot's numbers
    qrels = {q.query_id: {} for q in QR}
    for q in QR:
        qrels[q.query_id][q.doc_id] = q.relevance
    trec = {q: {h.doc_id: h.score for h in hits} for q, hits in run.items()}
    got = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10"}).evaluate(trec)
    mean = sum(v["ndcg_cut_10"] for v in got.values()) / len(got)
    assert mean == pytest.approx(manifest["means"]["bm25"]["nDCG@10"])
    assert (tmp_path / "out" / "per_query.csv").exists()
    with zipfile.ZipFile(io.BytesIO(snapshots.export_archive(snap))) as archive:
        names = set(archive.namelist())
        assert {"base/manifest.json", "base/per_query.csv", "base/runs/bm25.run"} == names
        assert archive.read("base/runs/bm25.run") == run_path.read_bytes()


# ---------------------------------------------------------------- the CLI


@pytest.fixture
def tiny(home, small_jsonl, fake_encoder, tmp_path):
    corpus = ingest.ingest(small_jsonl, "tiny", ["bm25", fake_encoder.name], home)
    return (corpus, *write_topics(tmp_path, QUERIES, QRELS))


def test_cli_evaluate_snapshot_then_list_show_compare_export(tiny, capsys, tmp_path, fake_encoder):
    _, queries, qrels = tiny
    base = ["evaluate", "--corpus", "tiny", "--queries", str(queries), "--qrels", str(qrels)]
    base += ["--measures", "nDCG@10", "RR", "--json"]
    assert main([*base, "--rankers", "bm25", fake_encoder.name, "--snapshot", "one"]) == 0
    means_one = json.loads(capsys.readouterr().out)
    assert main([*base, "--rankers", "bm25", "--snapshot", "one"]) == 2
    assert "already has a snapshot named 'one'" in capsys.readouterr().err
    # snapshot two: other labels, where q1's answer is a document bm25 does not find for it
    other = tmp_path / "other.txt"
    other.write_text("".join(f"{q} 0 {'rust' if q == 'q1' else d} {g}\n" for q, d, g in QRELS))
    two = [*base[:5], "--qrels", str(other), *base[7:], "--rankers", "bm25", "--snapshot", "two"]
    assert main(two) == 0
    capsys.readouterr()

    assert main(["snapshots", "list", "--corpus", "tiny", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["one", "two"]
    assert rows[0]["rankers"] == ["bm25", fake_encoder.name] and rows[0]["queries"] == 4

    assert main(["snapshots", "show", "one", "--corpus", "tiny", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["means"] == means_one and shown["warnings"] == []
    assert shown["manifest"]["settings"]["k"] == 100

    assert main(["snapshots", "compare", "one", "two", "--corpus", "tiny", "--json"]) == 0
    comp = json.loads(capsys.readouterr().out)
    assert comp["ranker"] == "bm25" and comp["measure"] == "nDCG@10"
    assert comp["means"]["one"] == pytest.approx(means_one["bm25"]["nDCG@10"])
    worse = [r["query_id"] for r in comp["per_query"] if r["status"] == "worse"]
    assert worse == ["q1"] and comp["counts"]["worse"] == 1
    assert any("different labels" in w for w in comp["warnings"])
    assert main(["snapshots", "compare", "one", "two", "--corpus", "tiny"]) == 0
    out, err = capsys.readouterr()
    assert "1 worse" in out and "different labels" in err

    assert (
        main(["snapshots", "export", "one", "--corpus", "tiny", "--out", str(tmp_path / "x")]) == 0
    )
    capsys.readouterr()
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    assert set(manifest["run_files"]) == {"bm25", fake_encoder.name}

    # the labels file changes: show warns; once it is gone, show says it cannot check
    qrels.write_text("".join(f"{q} 0 {d} {g}\n" for q, d, g in QRELS[:-1]))
    assert main(["snapshots", "show", "one", "--corpus", "tiny"]) == 0
    assert "labels changed since snapshot 'one' (5 labels then, 4 now" in capsys.readouterr().err
    qrels.unlink()
    assert main(["snapshots", "show", "one", "--corpus", "tiny"]) == 0
    assert "cannot check whether the labels changed" in capsys.readouterr().err
    assert main(["snapshots", "delete", "two", "--corpus", "tiny"]) == 0
    assert main(["snapshots", "show", "two", "--corpus", "tiny"]) == 2
    assert "no snapshot named 'two'" in capsys.readouterr().err


def test_cli_show_warns_when_shipped_labels_changed(home, tmp_path, capsys):
    tea = ("d1", "Tea", "green tea is brewed cooler than black tea")
    queries = [("1", "tea"), ("2", "tides")]
    docs = [tea, ("d2", "Moon", "the moon causes the tides")]
    folder = write_beir(tmp_path / "beirtiny", docs, queries, [("1", "d1", 2), ("2", "d2", 1)])
    ingest.ingest(folder, "beirtiny", ["bm25"], home)
    argv = ["evaluate", "--corpus", "beirtiny", "--measures", "nDCG@10", "--snapshot", "s1"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["snapshots", "show", "s1", "--corpus", "beirtiny"]) == 0
    assert "warning" not in capsys.readouterr().err
    # the same corpus ingested again from changed documents
    docs = [tea, ("d2", "Moon", "the moon pulls the oceans into tides")]
    write_beir(folder, docs, queries, [("1", "d1", 1), ("2", "d2", 1)])
    assert main(["delete", "--corpus", "beirtiny", "--yes"]) == 0
    ingest.ingest(folder, "beirtiny", ["bm25"], home)
    capsys.readouterr()
    assert main(["snapshots", "show", "s1", "--corpus", "beirtiny"]) == 0
    err = capsys.readouterr().err
    assert "deleted and created again" in err
    assert "documents of corpus 'beirtiny' changed" in err
    assert "labels changed" in err
