"""The Search page in Streamlit's AppTest: columns, escaping and highlighting, rank badges,
labels (shown and given inline), overlap, score cut-off, document mode, query sets (upload,
replace, stepping by disagreement), HNSW recall, errors; and the rankers helpers it relies on."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from components import state
from components.label_widgets import grade_key
from ranklens import models
from ranklens.corpus import uploads
from ranklens.corpus.ingest import ingest
from ranklens.judging import JudgmentStore
from ranklens.ranking import compare
from ranklens.types import Query

from .conftest import ROOT, FakeEncoder, write_jsonl

PAGE = str(ROOT / "pages" / "search" / "page.py")
FAKE = "fake-page-enc"
DOCS = [
    ("bread", "Sourdough", "Sourdough bread rises with wild yeast and bacteria."),
    ("rye", "Rye bread", "Rye bread is dense; bakers add sourdough starter."),
    ("tea", "Green tea", "Green tea is brewed at a lower temperature than black tea."),
    ("moon", "The Moon", "The Moon orbits the Earth and causes the tides."),
    ("evil", "<b>Evil</b> title", "<script>alert('x')</script> bread & <img src=x onerror=1>"),
]


@pytest.fixture
def corpus(home):
    models.register_encoder(FakeEncoder(FAKE))
    path = write_jsonl(
        home.home.parent / "docs.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
    )
    c = ingest(path, "pagetest", ["bm25", FAKE], home)
    c.add_query_set(
        "set1",
        [Query("q1", "sourdough bread"), Query("q2", "green tea"), Query("q3", "moon tides")],
    )
    return c


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def search(at: AppTest, query: str, rankers: list[str] | None = None) -> AppTest:
    if rankers is not None:
        at.multiselect(key=state.SEARCH_RANKERS).set_value(rankers)
    at.text_input(key=state.SEARCH_QUERY).set_value(query).run()
    assert not at.exception, at.exception
    return at


def cards(at: AppTest) -> list[str]:
    """Each column's cards, joined (one string per column)."""
    return ["".join(column) for column in column_cards(at)]


def column_cards(at: AppTest) -> list[list[str]]:
    """The hit cards of each ranker's column, one markdown per card."""
    out = []
    for col in at.columns:
        found = [m.value for m in col.markdown if 'class="rl-card"' in m.value]
        if found:
            out.append(found)
    return out


def _pid(card: str) -> str:
    """The passage id a card shows ('#rank · id#n ...')."""
    return re.search(r"· ([^ <]+#\d+) ", card).group(1)


def _rank(card: str) -> int:
    return int(re.search(r'rl-head">#(\d+) · ', card).group(1))


def doc_ids(html: list[str]) -> list[str]:
    return [re.search(r"· ([^ <]+)#\d+ ", h).group(1) for h in html]


def _array(z) -> list[list[float]]:
    """A plotly array as lists (plotly may send it typed: dtype, base64 bytes, shape)."""
    if isinstance(z, dict):
        flat = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
        shape = [int(x) for x in str(z.get("shape", len(flat))).split(",")]
        return flat.reshape(shape).tolist()
    return z


def heatmaps(at: AppTest) -> list[list[list[float]]]:
    """The z values of the overlap heat maps (Jaccard, then RBO)."""
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return [_array(c["data"][0]["z"]) for c in charts if c["data"][0]["type"] == "heatmap"]


def test_no_corpus_says_where_to_add_one(home):
    at = run_page()
    assert any("No corpus yet" in i.value for i in at.info)


def test_columns_side_by_side_escaped_and_highlighted(corpus):
    at = run_page()
    assert at.multiselect(key=state.SEARCH_RANKERS).value == ["bm25", FAKE, f"rrf(bm25,{FAKE})"]
    assert any("Type a query" in i.value for i in at.info)
    at = search(at, "bread", ["bm25", FAKE])
    assert len(at.columns) >= 2
    headers = [
        m.value for m in at.markdown if m.value.startswith("**A ·") or m.value.startswith("**B ·")
    ]
    assert headers == ["**A · bm25**", f"**B · {FAKE}**"]
    assert any(c.value.endswith("hits") and "ms" in c.value for c in at.caption)
    html = cards(at)
    assert len(html) == 2
    assert all(len(column) >= 2 for column in column_cards(at))  # one markdown per card
    bm25 = html[0]
    assert re.search(r'rl-head">#\d+ · [^<]*<mark>bread</mark>', bm25)  # in a title
    assert re.search(r"<div>[^<]*<mark>bread</mark>", bm25)  # in a passage
    # corpus HTML is shown as text, never as markup
    assert "&lt;script&gt;" in bm25 and "<script>" not in bm25 and "<img" not in bm25
    assert "&lt;b&gt;Evil&lt;/b&gt;" in bm25
    # every hit of one column says where the other column put it: up, down, same or not in top k
    a_cards, b_cards = column_cards(at)
    b_rank = {_pid(c): _rank(c) for c in b_cards}
    for card in a_cards:
        other = b_rank.get(_pid(card))
        if other is None:
            want = "B: not in top"
        elif other == _rank(card):
            want = "B: same"
        else:
            diff = other - _rank(card)
            want = f"B: up {diff}" if diff > 0 else f"B: down {-diff}"
        assert want in card, (want, card)
    assert "#1 · " in bm25 and "score " in bm25


def test_rank_badges_and_overlap(corpus):
    at = search(run_page(), "sourdough bread", ["bm25", f"rrf(bm25,{FAKE})"])
    html = cards(at)
    assert "B: " in html[0] and "A: " in html[1]
    assert len(at.get("plotly_chart")) >= 2  # Jaccard and RBO heat maps (+ score histogram)


def test_score_threshold_counts_kept_hits(corpus):
    at = search(run_page(), "bread", ["bm25"])
    metric = next(m for m in at.metric if m.label == "Hits a cut-off here keeps")
    total = int(metric.value.split(" of ")[1])
    assert metric.value == f"{total} of {total}" and total >= 2
    slider = at.slider(key=f"{state.SEARCH_THRESHOLD}:bm25")
    slider.set_value(slider.max).run()
    metric = next(m for m in at.metric if m.label == "Hits a cut-off here keeps")
    assert metric.value == f"1 of {total}"


def test_bad_recipe_and_empty_results(corpus):
    at = run_page()
    at.text_input(key=state.SEARCH_CUSTOM).set_value("rrf(bm25)").run()
    assert any("at least two" in e.value for e in at.error)
    at.text_input(key=state.SEARCH_CUSTOM).set_value(f"wsum( bm25:0.3 , {FAKE}:0.7 )").run()
    assert f"wsum(bm25:0.3,{FAKE}:0.7)" in at.multiselect(key=state.SEARCH_RANKERS).value
    at = search(at, "the of and", ["bm25"])  # only stopwords: BM25 matches nothing
    assert any("No passage matches" in i.value for i in at.info)


def test_query_set_ordered_by_disagreement_and_stepping(corpus):
    at = search(run_page(), "x", ["bm25", FAKE])
    at.selectbox(key=state.QUERY_SET).set_value("set1").run()
    at.button(key="rl_search_next").click().run()  # the set's own order first
    assert at.text_input(key=state.SEARCH_QUERY).value == "green tea"
    at.selectbox(key="rl_search_order_pick").set_value("q3: moon tides").run()
    assert at.text_input(key=state.SEARCH_QUERY).value == "moon tides"
    at.button(key="rl_search_order_btn").click().run()
    assert not at.exception, at.exception
    order = at.session_state[state.SEARCH_ORDER]
    scores = [d for _, _, d in order["items"]]  # RBO: 1 = the same ranking, least alike first
    assert scores == sorted(scores) and len(scores) == 3
    table = next(d.value for d in at.dataframe if "rbo" in d.value.columns)
    assert list(table["query_id"]) == [qid for qid, _, _ in order["items"]]
    assert "moon tides" in list(table["query"])  # the query text, beside its id
    assert any("1 = same ranking" in c.value for c in at.caption)
    assert at.text_input(key=state.SEARCH_QUERY).value == order["items"][0][1]
    at.button(key="rl_search_next").click().run()
    assert at.text_input(key=state.SEARCH_QUERY).value == order["items"][1][1]
    at.button(key="rl_search_prev").click().run()
    at.button(key="rl_search_prev").click().run()
    assert at.text_input(key=state.SEARCH_QUERY).value == order["items"][2][1]
    assert cards(at)


def test_current_label_is_shown(corpus, home):
    store = JudgmentStore(home.db_url)
    store.add_label("pagetest", "alice", "q2", "tea#0", grade=2, doc_id="tea")
    at = search(run_page(), "green tea", ["bm25"])
    html = cards(at)[0]
    assert "label 2 (alice)" in html
    at = search(at, "green tea brewed")  # not a query of any set: no labels to show
    assert "label 2" not in cards(at)[0]


def test_a_store_that_cannot_be_read_is_said_not_hidden(corpus, monkeypatch):
    """The labels' read is not wrapped in a bare except: a store error shows as a warning."""
    from components import resources
    from ranklens.errors import RankLensError

    def broken():
        raise RankLensError("database is locked (test)")

    monkeypatch.setattr(resources, "judgment_store", broken)
    at = search(run_page(), "green tea", ["bm25"])
    assert any("Labels cannot be read now: database is locked" in w.value for w in at.warning)
    assert cards(at)  # the results are still shown


def test_hnsw_recall_panel(corpus):
    at = search(run_page(), "tea", ["bm25", FAKE])
    assert any("ef_search = " in c.value for c in at.caption)
    at.button(key="rl_search_hnsw_go").click().run()
    assert not at.exception, at.exception
    recall = next(m for m in at.metric if m.label.startswith("Recall@"))
    assert recall.value == "1.000" and "ef_search=100" in recall.label


def test_document_level_toggle(corpus, home):
    long = {"_id": "long", "title": "Loaf", "text": "sourdough loaf crumb " * 120}
    path = write_jsonl(home.home.parent / "long.jsonl", [long])
    ingest(path, "longdoc", ["bm25"], home)
    at = run_page()
    at.selectbox(key=state.CORPUS).set_value("longdoc").run()
    at = search(at, "sourdough loaf", ["bm25"])
    assert len(column_cards(at)[0]) >= 2  # several passages of one doc
    at.toggle(key=state.SEARCH_DOC_LEVEL).set_value(True).run()
    assert len(column_cards(at)[0]) == 1


@pytest.fixture
def loaves(home):
    """One long document (five passages, all about loaves) among six short ones."""
    models.register_encoder(FakeEncoder(FAKE))
    records = [{"_id": "long", "title": "Loaf", "text": "sourdough loaf crumb " * 200}]
    records += [
        {"_id": f"short{i}", "title": f"Note {i}", "text": f"a sourdough loaf note number {i}"}
        for i in range(6)
    ]
    path = write_jsonl(home.home.parent / "loaves.jsonl", records)
    c = ingest(path, "loaves", ["bm25", FAKE], home)
    assert c.passages >= c.documents + 4
    return c


def test_document_mode_gives_k_documents_and_compares_documents(loaves):
    at = run_page()
    at.number_input(key=state.SEARCH_K).set_value(3)
    at = search(at, "sourdough loaf crumb", ["bm25", FAKE])
    passage_mode = column_cards(at)
    assert all(len(column) == 3 for column in passage_mode)
    assert len(set(doc_ids(passage_mode[0]))) < 3  # the long document's passages lead
    at.toggle(key=state.SEARCH_DOC_LEVEL).set_value(True).run()
    assert not at.exception, at.exception
    columns = column_cards(at)
    assert len(columns) == 2
    for column in columns:  # k documents, each once, not k passages folded into fewer
        assert len(column) == 3 and len(set(doc_ids(column))) == 3
    assert any(c.value.endswith("3 documents") for c in at.caption)
    # overlap and badges compare documents: the same three documents, whatever the passage
    result = at.session_state[state.SEARCH_RESULT][1]
    lists = {n: run["q"] for n, run in result.runs.items()}
    jaccard, rbo = heatmaps(at)[:2]
    expected = compare.overlap_matrix(lists, 3, "jaccard", compare.doc_key)[1]
    assert np.allclose(jaccard, expected)
    assert np.allclose(rbo, compare.overlap_matrix(lists, 3, "rbo", compare.doc_key)[1])
    in_b = doc_ids(columns[1])
    for card, doc in zip(columns[0], doc_ids(columns[0]), strict=True):
        assert ("B: not in top 3 documents" in card) == (doc not in in_b)
    assert "long" in in_b and "long" in doc_ids(columns[0])


def doc_overlap_app(by_doc: bool) -> None:
    """Two rankers finding the same documents through different passages."""
    from components import resources
    from pages.search import panels, results
    from ranklens.ranking.rankers import RankedRuns
    from ranklens.types import Hit

    a = [Hit("q", "bread#0", "bread", 2.0, 1), Hit("q", "rye#1", "rye", 1.0, 2)]
    b = [Hit("q", "bread#2", "bread", 0.9, 1), Hit("q", "rye#0", "rye", 0.5, 2)]
    result = RankedRuns({"A": {"q": a}, "B": {"q": b}}, {"A": 1.0, "B": 2.0}, 3.0)
    corpus = resources.open_corpus("pagetest")
    results.columns(corpus, result, "bread", 2, None, None, by_doc)
    panels.overlap(result, 2, by_doc)


@pytest.mark.parametrize("by_doc", [True, False])
def test_overlap_and_badges_by_document(corpus, by_doc):
    at = AppTest.from_function(doc_overlap_app, args=(by_doc,), default_timeout=30).run()
    assert not at.exception, at.exception
    jaccard, rbo = heatmaps(at)
    html = cards(at)
    if by_doc:
        assert jaccard == [[1.0, 1.0], [1.0, 1.0]] and rbo == jaccard
        assert "B: same" in html[0] and "A: same" in html[1]
        assert "not in top" not in html[0] + html[1]
    else:  # by passage the same two documents look like nothing in common
        assert jaccard == [[1.0, 0.0], [0.0, 1.0]] and rbo == jaccard
        assert "B: not in top 2" in html[0] and "same" not in html[0]


# ---------------------------------------------------------------- inline labels


def label_button(at: AppTest, column: str, passage_id: str, grade: int):
    return at.button(key=grade_key(f"rl_sl_{column}_{passage_id}", grade))


def test_inline_label_buttons_store_labels(corpus, home):
    at = search(run_page(), "green tea", ["bm25", FAKE])  # the text of query q2 of set1
    assert not [b for b in at.button if b.key and b.key.startswith("rl_sl_")]  # no name yet
    at.text_input(key="rl_search_name").set_value("  alice ").run()
    assert at.session_state[state.ANNOTATOR] == "alice"
    keys = [b.key for b in at.button if b.key and b.key.startswith("rl_sl_")]
    hits = sum(len(column) for column in column_cards(at))
    assert len(keys) == 4 * hits and len(set(keys)) == len(keys)  # 4 grades under every hit
    label_button(at, "A", "tea#0", 2).click().run()
    assert not at.exception, at.exception
    labels = JudgmentStore(home.db_url).current_labels("pagetest")
    assert [
        (x.annotator, x.query_id, x.passage_id, x.doc_id, x.grade, x.query_set) for x in labels
    ] == [("alice", "q2", "tea#0", "tea", 2, "set1")]
    assert label_button(at, "A", "tea#0", 2).label == "✓ 2"  # shown as current...
    assert label_button(at, "B", "tea#0", 2).label == "✓ 2"  # ...in every column
    assert label_button(at, "A", "tea#0", 3).label == "3"
    assert any(c.value == "Saved: 2 · Relevant" for c in at.caption)
    assert "label 2 (alice)" in column_cards(at)[0][0]
    label_button(at, "B", "tea#0", 0).click().run()  # a new label replaces it
    assert JudgmentStore(home.db_url).label_of("pagetest", "alice", "q2", "tea#0").grade == 0
    at = search(at, "green tea brewed")  # no query id: nothing to label
    assert not [b for b in at.button if b.key and b.key.startswith("rl_sl_")]
    assert any("take the query from a query set" in c.value for c in at.caption)


def test_inline_labels_of_a_stepped_query_in_document_mode(corpus, home):
    at = run_page()
    at.session_state[state.ANNOTATOR] = "bob"
    at = search(at, "x", ["bm25"])
    at.selectbox(key=state.QUERY_SET).set_value("set1").run()
    at.selectbox(key="rl_search_order_pick").set_value("q3: moon tides").run()
    at.toggle(key=state.SEARCH_DOC_LEVEL).set_value(True).run()
    first = column_cards(at)[0][0]
    pid = re.search(r"· ([^ <]+#\d+) ", first).group(1)
    label_button(at, "A", pid, 3).click().run()
    assert not at.exception, at.exception
    (label,) = JudgmentStore(home.db_url).current_labels("pagetest", annotator="bob")
    assert (label.query_id, label.passage_id, label.grade, label.query_set) == (
        "q3",
        pid,
        3,
        "set1",
    )


# ---------------------------------------------------------------- query-set upload


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="rl_search_upload").set_value((name, content, "text/plain")).run()
    assert not at.exception, at.exception
    return at


def test_query_set_upload_name_replace_and_bad_file(corpus):
    at = upload(run_page(), "extra.tsv", b"e1\tapple pie\ne2\trye bread\n")
    at.button(key="rl_search_up_add").click().run()
    assert any("Added query set 'extra' (2 queries)" in s.value for s in at.success)
    assert [q.query_id for q in corpus.query_sets()["extra"]] == ["e1", "e2"]
    # a bad name is reported as a query set name, and nothing is stored
    at.text_input(key="rl_search_up_name").set_value("bad name!").run()
    at.button(key="rl_search_up_add").click().run()
    assert any("query set name 'bad name!'" in e.value for e in at.error)
    assert not any("corpus name" in e.value for e in at.error)
    assert set(corpus.query_sets()) == {"set1", "extra"}
    # an existing name is replaced only once the box is ticked
    at.text_input(key="rl_search_up_name").set_value("set1").run()
    box = at.checkbox(key="rl_search_up_replace:set1")
    assert "Replace the existing set 'set1'" in box.label
    at.button(key="rl_search_up_add").click().run()
    assert any("has a query set named 'set1'" in e.value for e in at.error)
    assert len(corpus.query_sets()["set1"]) == 3
    at.checkbox(key="rl_search_up_replace:set1").check().run()
    at.button(key="rl_search_up_add").click().run()
    assert any("Replaced query set 'set1'" in s.value for s in at.success)
    assert [q.text for q in corpus.query_sets()["set1"]] == ["apple pie", "rye bread"]
    # a malformed file names its line; the set is left as it was
    upload(at, "set1.tsv", b"x1\tfine\nbroken line\n")
    at.checkbox(key="rl_search_up_replace:set1").check().run()
    at.button(key="rl_search_up_add").click().run()
    assert any("line 2" in e.value for e in at.error)
    assert len(corpus.query_sets()["set1"]) == 2
    # uploads went through ranklens.corpus.uploads (a folder of their own, removed after reading),
    # never a temporary path shared by every session
    assert not (corpus.settings.cache_dir / "uploads").exists()
    assert not any(uploads.uploads_dir(corpus.settings).glob("*/*"))


def test_query_set_shipped_with_labels_is_not_replaced(home):
    root = home.home.parent / "beir"
    (root / "qrels").mkdir(parents=True)
    write_jsonl(root / "corpus.jsonl", [{"_id": "d1", "text": "alpha"}, {"_id": "d2", "text": "b"}])
    write_jsonl(root / "queries.jsonl", [{"_id": "q1", "text": "alpha?"}])
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    c = ingest(root, "beirc", ["bm25"], home)
    at = upload(run_page(), "test.tsv", b"n1\tnew query\n")
    assert not at.checkbox  # nothing to tick: it cannot be replaced
    assert any("came with the corpus" in c.value for c in at.caption)
    at.button(key="rl_search_up_add").click().run()
    assert any("with its relevance labels" in e.value for e in at.error)
    assert [q.query_id for q in c.query_sets()["test"]] == ["q1"]
    at.text_input(key="rl_search_up_name").set_value("mine").run()
    at.button(key="rl_search_up_add").click().run()
    assert [q.query_id for q in c.query_sets()["mine"]] == ["n1"]


def test_highlight_escapes_first_then_marks_stems():
    from ranklens.ranking.highlight import highlight, query_terms

    assert query_terms("Sorting the lists") == {"sort", "list"}  # stemmed, stopwords out
    out = highlight('<a href="x">sorted</a> lists & sort_key', "sorting lists")
    assert out == (
        "&lt;a href=&quot;x&quot;&gt;<mark>sorted</mark>&lt;/a&gt; <mark>lists</mark> &amp; sort_key"
    )
    # words inside the entities escaping makes are never marked (no broken entities)
    assert highlight("a < b", "lt gt") == "a &lt; b"
    assert highlight("x &amp; y", "amp") == "x &amp;<mark>amp</mark>; y"  # the text's own word
    assert highlight("<b>bold</b>", "") == "&lt;b&gt;bold&lt;/b&gt;"


def test_blind_judging_hides_others_labels_from_a_non_admin(corpus, home, monkeypatch):
    """Team mode: a signed-in annotator sees only their own labels on the hit cards."""
    from components import sign_in_cookie
    from ranklens.judging import annotators as accounts
    from ranklens.judging import sign_ins

    store = JudgmentStore(home.db_url)
    store.add_label("pagetest", "alice", "q2", "tea#0", grade=2, doc_id="tea")
    dora, _ = accounts.add(store, "dora")
    lead, _ = accounts.add(store, "lead", admin=True)
    cookie = {"value": sign_ins.start(store, dora)}
    monkeypatch.setattr(sign_in_cookie, "read", lambda: cookie["value"])
    monkeypatch.setenv("RANKLENS_TEAM", "1")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state[state.ANNOTATOR] = "dora"
    at.run()
    at = search(at, "green tea", ["bm25"])
    assert "(alice)" not in cards(at)[0]
    store.add_label("pagetest", "dora", "q2", "tea#0", grade=1, doc_id="tea")
    at = search(at, "green tea brewed")
    at = search(at, "green tea")
    assert "label 1 (dora)" in cards(at)[0] and "(alice)" not in cards(at)[0]
    cookie["value"] = sign_ins.start(store, lead)  # an admin sees everyone's
    at = search(at, "green tea brewed")
    at = search(at, "green tea")
    assert "(alice)" in cards(at)[0]
