"""The Judge page in Streamlit's AppTest: pool building, blind judging (grade, undo, can't judge,
skip, previous/next, notes), progress, guidelines, scale, suggestions, agreement of two
annotators, adjudication, final qrels export, and qrels upload with line-numbered errors."""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from components import state
from components.label_widgets import grade_key, text_colour
from pages.judge import display, header
from ranklens import jobs
from ranklens.cli import main as cli_main
from ranklens.judging import pooling
from ranklens.types import Query

from . import judge_pages
from .conftest import ROOT
from .judge_pages import QUERIES, build_pool, button, check, grade, open_page, shown, texts

# the shared fixtures (tests/judge_pages.py)
corpus = judge_pages.corpus
store = judge_pages.store

QUERY = re.compile(r'<span class="rl-qid">Query (\S+)</span>')


def progress_texts(at: AppTest) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def test_no_name_no_judging_and_setup_first(corpus):
    at = open_page(name=None)
    assert at.session_state[state.JUDGE_TAB] == header.SET_UP  # no pool yet
    at.session_state[state.JUDGE_TAB] = header.JUDGE
    check(at.run())
    assert any("Type your name" in i.value for i in at.info)


def test_build_pool_then_judge_blind_with_progress(corpus, store):
    at = build_pool(open_page(), ["bm25", "fake-encoder"], depth=3)
    assert at.session_state[state.JUDGE_TAB] == header.JUDGE  # opened after building
    pool = store.pools("j", "dev")[-1]
    # the pool is the union of both rankers' top 3, deduplicated, per query
    assert pool.rankers == ["bm25", "fake-encoder"] and pool.depth == 3
    for q in QUERIES:
        items = [it for it in pool.items if it.query_id == q.query_id]
        assert 3 <= len(items) <= 6 and len(set(items)) == len(items)
    total = len(pool.items)
    pid, pos, of = shown(at)
    assert (pos, of) == (1, total)
    # blind: no ranker name anywhere on the judging tab
    page_text = texts(at)
    assert "bm25" not in page_text and "fake-encoder" not in page_text and "rrf" not in page_text
    # the query on top, escaped, its terms highlighted
    html = next(m.value for m in at.markdown if 'class="rl-jq"' in m.value)
    assert "Query q1" in html and "<mark>sort</mark>" in html and "<mark>python</mark>" in html
    assert progress_texts(at)[0] == (
        f"Overall, your progress: 0 of {total} passages no longer wait for you · 0 judged by you"
    )
    pool_text = f"Overall, the pool's progress: 0 of {total} passages have the 1 graded label"
    assert any(t.startswith(pool_text) for t in progress_texts(at))
    # every action has its key (the browser test presses them)
    keys = {b.label.split(" · ")[0]: b.proto.shortcut for b in at.button if b.proto.shortcut}
    assert keys == {
        **{str(g): str(g) for g in range(4)},
        "Can't judge": "x",
        "Previous": "k",
        "Next": "j",
        "Skip": "s",
        "Undo": "u",
        "Note": "n",
        "←": "left",
        "→": "right",
    }

    at = grade(at, 2)
    assert store.label_of("j", "alice", *pid_query(pool, pid)).grade == 2
    assert any(f"Saved: **2 · Relevant** for passage `{pid}`" in s.value for s in at.success)
    nxt, pos, _ = shown(at)
    assert nxt != pid and pos == 2  # moved on by itself
    assert progress_texts(at)[0] == (
        f"Overall, your progress: 1 of {total} passages no longer wait for you · 1 judged by you"
    )

    # previous shows the graded passage with its grade marked; next comes back
    check(button(at, "Previous").click().run())
    assert shown(at)[0] == pid
    assert button(at, "2 · Relevant").label.startswith("✓")
    check(button(at, "Next").click().run())
    assert shown(at)[0] == nxt

    # can't judge is a choice: a current label without a grade, counted as judged
    at = check(button(at, "Can't judge").click().run())
    assert store.label_of("j", "alice", *pid_query(pool, nxt)).grade is None
    assert progress_texts(at)[0].startswith(f"Overall, your progress: 2 of {total}")

    # undo retracts it and shows that passage again
    at = check(button(at, "Undo").click().run())
    assert store.label_of("j", "alice", *pid_query(pool, nxt)) is None
    assert shown(at)[0] == nxt
    assert any("Undid" in i.value for i in at.info)
    assert progress_texts(at)[0].startswith(f"Overall, your progress: 1 of {total}")

    # skip sends it to the end of the queue
    at = check(button(at, "Skip").click().run())
    assert shown(at)[0] != nxt
    session = store.start_session(pool.id, "alice")
    assert session.queue()[-1].passage_id == nxt


def doc_of_item(pool, pid: str) -> str:
    """The document id the pool recorded for a passage (never taken out of the passage id)."""
    return next(it.doc_id for it in pool.items if it.passage_id == pid)


def pid_query(pool, pid: str) -> tuple[str, str]:
    item = next(it for it in pool.items if it.passage_id == pid)
    return item.query_id, item.passage_id


def test_note_guidelines_and_scale(corpus, store):
    at = open_page()
    at.session_state[state.JUDGE_TAB] = header.SET_UP
    check(at.run())
    suffix = ":j:dev"
    at.text_area(key=state.JUDGE_GUIDELINES + suffix).set_value("Only **answers** count.")
    check(button(at, "Save guidelines and annotators").click().run())
    assert store.judging_settings("j", "dev").guidelines == "Only **answers** count."
    # a binary scale: two grade buttons
    at.number_input(key=state.JUDGE_SCALE_GRADES).set_value(2).run()
    check(button(at, "Set scale").click().run())
    assert len(store.scale("j")) == 2
    at = build_pool(at, ["bm25"], depth=2)
    assert "Only **answers** count." in [m.value for m in at.markdown]
    grades = [b.label for b in at.button if b.key and b.key.startswith(state.JUDGE_GRADES)]
    assert grades == ["0 · Not relevant", "1 · Relevant", "Can't judge"]
    pid = shown(at)[0]
    check(button(at, "Note").click().run())
    at.text_area(key=state.JUDGE_NOTE_TEXT).set_value("mentions lists only")
    check(button(at, "Save note").click().run())
    check(button(at, "1 · Relevant").click().run())
    pool = store.pools("j", "dev")[-1]
    label = store.label_of("j", "alice", *pid_query(pool, pid))
    assert (label.grade, label.note) == (1, "mentions lists only")
    # a note box belongs to its passage: moving on closes it
    check(button(at, "Note").click().run())
    assert [t.key for t in at.text_area] == [state.JUDGE_NOTE_TEXT]
    check(button(at, "Next").click().run())
    assert state.JUDGE_NOTE_TEXT not in [t.key for t in at.text_area]
    # a scale that cannot hold a stored grade is refused with a message
    at.session_state[state.JUDGE_TAB] = header.SET_UP
    check(at.run())
    at.number_input(key=state.JUDGE_SCALE_GRADES).set_value(3).run()
    check(button(at, "Set scale").click().run())
    store.add_label("j", "bob", "q1", pid, 2, doc_id=doc_of_item(pool, pid))
    at.number_input(key=state.JUDGE_SCALE_GRADES).set_value(2).run()
    check(button(at, "Set scale").click().run())
    assert any("already holds grade 2" in e.value for e in at.error)
    assert len(store.scale("j")) == 3


def test_suggestions_are_shown_as_such_and_compared(corpus, store):
    # the real cross-encoder, in the suggestions job's worker (a patch here would not reach it)
    at = build_pool(open_page(), ["bm25"], depth=3)
    at.session_state[state.JUDGE_TAB] = header.SET_UP
    check(at.run())
    at.text_input(key=f"{state.JUDGE_SUGGEST_THRESHOLDS}:3").set_value("0, 4, 8")
    check(button(at, "Pre-grade pool").click().run())
    for job in jobs.list_jobs(active_only=True):  # the suggestions run as a job, in a worker
        jobs.wait(job.id, timeout=120)
    check(at.run())
    assert any("Stored" in s.value and "suggestions" in s.value for s in at.success)
    suggested = {s.passage_id: s for s in store.suggestions("j")}
    pool = store.pools("j", "dev")[-1]
    assert len(suggested) == len({it.passage_id for it in pool.items})
    at.session_state[state.JUDGE_TAB] = header.JUDGE
    check(at.run())
    pid = shown(at)[0]
    meta = next(m.value for m in at.markdown if 'class="rl-jmeta"' in m.value)
    assert "suggested: " in meta
    # suggestions never count as human labels
    assert store.current_labels("j") == []
    grade(at, 0)
    sa = store.suggestion_agreement("j")
    assert sa.n == 1 and sa.exact == (1.0 if suggested[pid].grade == 0 else 0.0)


def quadratic_kappa(a: list[int], b: list[int], k: int) -> float:
    """Test oracle: Cohen's kappa with quadratic weights, from the textbook formula."""
    n = len(a)
    obs = [[0.0] * k for _ in range(k)]
    for x, y in zip(a, b, strict=True):
        obs[x][y] += 1 / n
    ra = [sum(obs[i]) for i in range(k)]
    rb = [sum(obs[i][j] for i in range(k)) for j in range(k)]
    w = [[(i - j) ** 2 for j in range(k)] for i in range(k)]
    do = sum(w[i][j] * obs[i][j] for i in range(k) for j in range(k))
    de = sum(w[i][j] * ra[i] * rb[j] for i in range(k) for j in range(k))
    return 1 - do / de


def shown_query(at: AppTest) -> str:
    return next(QUERY.search(m.value).group(1) for m in at.markdown if QUERY.search(m.value))


def judge_all(at: AppTest, grades: dict[str, int]) -> dict[tuple[str, str], int]:
    """Grade every passage shown until none is left, by the passage's document."""
    given: dict[tuple[str, str], int] = {}
    while (found := shown(at)) is not None:
        pid = found[0]
        g = grades[pid.split("#")[0]]
        assert (shown_query(at), pid) not in given
        given[(shown_query(at), pid)] = g
        check(next(b for b in at.button if b.label.startswith(f"{g} · ")).click().run())
    assert any("Nothing waits for you" in s.value for s in at.success)
    return given


def test_two_annotators_agreement_adjudication_export(corpus, store, monkeypatch):
    captured: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def capture(self, path_or_data, mimetype, kind, filename=None):
        if filename:
            captured[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", capture)
    from streamlit.runtime.media_file_manager import MediaFileManager

    deferred = MediaFileManager.add_deferred

    def click_now(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        if file_name:  # a download made on click: as if clicked now
            data = data_callable()
            captured[file_name] = data.encode() if isinstance(data, str) else data
        return deferred(self, data_callable, mimetype, coordinates, file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", click_now)

    alice = open_page("alice")
    alice.session_state[state.JUDGE_TAB] = header.SET_UP
    check(alice.run())
    alice.number_input(key=state.JUDGE_PER_PASSAGE + ":j:dev").set_value(2)
    check(button(alice, "Save guidelines and annotators").click().run())
    alice = build_pool(alice, ["bm25", "fake-encoder"], depth=3)
    a = judge_all(alice, {"py": 3, "rust": 0, "tea": 2, "moon": 1, "bread": 0})
    bob = open_page("bob")  # a second session: a second person at the same time
    assert bob.session_state[state.JUDGE_TAB] == header.JUDGE
    b = judge_all(bob, {"py": 2, "rust": 0, "tea": 3, "moon": 0, "bread": 0})
    assert set(a) == set(b)

    bob.session_state[state.JUDGE_TAB] = header.AGREEMENT
    check(bob.run())
    metrics = {m.label: m.value for m in bob.metric}
    assert metrics["Annotators"] == "2"
    # units are (query, passage): a passage may be pooled for both queries
    pool = store.pools("j", "dev")[-1]
    assert metrics["Passages graded by two or more"] == str(len(pool.items))
    pairs = bob.dataframe[0].value
    assert set(a) == {(it.query_id, it.passage_id) for it in pool.items}
    pa = [a[(it.query_id, it.passage_id)] for it in pool.items]
    pb = [b[(it.query_id, it.passage_id)] for it in pool.items]
    assert pairs.iloc[0]["kappa"] == pytest.approx(quadratic_kappa(pa, pb, 4))
    assert (pairs.iloc[0]["annotator A"], pairs.iloc[0]["annotator B"]) == ("alice", "bob")
    alpha = float(metrics["Krippendorff's alpha (ordinal)"])
    assert -1 <= alpha <= 1

    # disagreements, the widest spread first
    dis = bob.dataframe[-1].value
    spreads = list(dis["spread"])
    assert spreads == sorted(spreads, reverse=True) and spreads
    expected = sum(1 for x, y in zip(pa, pb, strict=True) if x != y)
    assert len(dis) == expected
    # adjudicate the first one (widest) as 1
    first = dis.iloc[0]
    bob.radio(key=state.JUDGE_ADJ_GRADE).set_value(1)
    check(button(bob, "Record adjudicated label").click().run())
    assert any("Adjudicated" in s.value for s in bob.success)
    adj = store.adjudicated("j")
    assert [(u[0], u[2], lab.grade, lab.annotator) for u, lab in adj.items()] == [
        (first["query"], first["passage"], 1, "bob")
    ]
    assert len(bob.dataframe[-1].value) == expected - 1  # adjudicated ones leave the list

    # final qrels: adjudicated, else majority (a tie of two: the mean rounded half up)
    bob.session_state[state.JUDGE_TAB] = header.FINAL
    check(bob.run())
    bob.radio(key=state.JUDGE_LEVEL).set_value("passage")
    check(bob.run())
    trec = captured["j-dev-passage.qrels"].decode()
    got = {(q, d): int(r) for q, _, d, r in (line.split() for line in trec.splitlines())}
    want = {}
    for it in pool.items:
        x, y = a[(it.query_id, it.passage_id)], b[(it.query_id, it.passage_id)]
        want[(it.query_id, it.passage_id)] = math.floor((x + y) / 2 + 0.5)
    want[(first["query"], first["passage"])] = 1
    assert got == want
    beir = captured["j-dev-passage.tsv"].decode().splitlines()
    assert beir[0] == "query-id\tcorpus-id\tscore" and len(beir) == len(want) + 1
    # document level: a document's grade is its best passage's
    bob.radio(key=state.JUDGE_LEVEL).set_value("doc")
    check(bob.run())
    docs = defaultdict(int)
    for (q, p), g in want.items():
        docs[(q, p.split("#")[0])] = max(docs[(q, p.split("#")[0])], g)
    trec = captured["j-dev-doc.qrels"].decode()
    assert {(q, d): int(r) for q, _, d, r in (x.split() for x in trec.splitlines())} == docs


def test_import_upload_all_or_nothing_with_line_numbers(corpus, store):
    at = open_page()
    at.session_state[state.JUDGE_TAB] = header.FINAL
    check(at.run())
    before = store.count_events("j")
    at.file_uploader(key=state.JUDGE_IMPORT_FILE).set_value(
        ("bad.qrels", b"q1 0 py 2\nq1 0 rust\n", "text/plain")
    )
    check(at.run())
    check(button(at, "Import").click().run())
    assert any("bad.qrels, line 2" in e.value and "expected 4" in e.value for e in at.error)
    at.file_uploader(key=state.JUDGE_IMPORT_FILE).set_value(
        ("grades.qrels", b"q1 0 py 5\n", "text/plain")
    )
    check(button(at, "Import").click().run())
    assert any(
        "grades.qrels, line 1" in e.value and "outside the scale" in e.value for e in at.error
    )
    at.file_uploader(key=state.JUDGE_IMPORT_FILE).set_value(
        ("docs.qrels", b"q1 0 py 2\nq1 0 nosuchdoc 1\n", "text/plain")
    )
    check(button(at, "Import").click().run())
    assert any("docs.qrels, line 2" in e.value and "nosuchdoc" in e.value for e in at.error)
    assert store.count_events("j") == before  # nothing stored by a failed import

    at.file_uploader(key=state.JUDGE_IMPORT_FILE).set_value(
        ("good.qrels", b"q1 0 py 2\nq9 0 tea 1\nq1 0 rust#0 0\n", "text/plain")
    )
    check(button(at, "Import").click().run())
    assert any("imported 3 labels" in s.value for s in at.success)
    assert any("q9" in w.value and "1 query ids" in w.value for w in at.warning)
    labels = {(x.query_id, x.doc_id, x.passage_id, x.grade) for x in store.current_labels("j")}
    assert labels == {("q1", "py", "", 2), ("q9", "tea", "", 1), ("q1", "rust", "rust#0", 0)}
    assert {x.annotator for x in store.current_labels("j")} == {"imported"}


def test_label_buttons_colours_and_untrusted_text():
    assert text_colour("#2e7d32") == "#ffffff" and text_colour("#ffd54f") == "#111111"
    assert grade_key("a b#1", 2).startswith("a_b_1_") and grade_key("ok", None) == "ok_cant"
    html = display.passage_html(
        "python <script>", "q<1>", "<b>T</b>", "<img src=x onerror=1> python"
    )
    assert "<script>" not in html and "<img" not in html and "<b>T</b>" not in html
    assert "&lt;img src=x onerror=1&gt; <mark>python</mark>" in html
    assert pooling.parse_thresholds("-3, 1 5") == [-3.0, 1.0, 5.0]
    with pytest.raises(Exception, match="expected numbers"):
        pooling.parse_thresholds("1, two")


def inline_labels_app() -> None:
    """The Search page's use of label_buttons: one row of buttons per hit, no shortcuts."""
    import streamlit as st

    from components import resources
    from components.label_widgets import label_buttons

    store = resources.judgment_store()
    for pid in ("py#0", "tea#0"):
        st.write(pid)
        label_buttons(store, "j", "carol", "q1", pid, pid.split("#")[0], "dev", key=f"hit-{pid}")


def test_label_buttons_inline_on_many_hits(home, store):
    at = check(AppTest.from_function(inline_labels_app, default_timeout=30).run())
    keys = [b.key for b in at.button]
    assert len(keys) == 8 and len(set(keys)) == 8  # 4 grades per hit, each key unique
    assert all(b.proto.shortcut == "" for b in at.button)
    tea = [b for b in at.button if b.key.startswith(grade_key("hit-tea#0", 0)[:-1])]
    check(next(b for b in tea if b.label.startswith("3 · ")).click().run())
    label = store.label_of("j", "carol", "q1", "tea#0")
    assert (label.grade, label.source) == (3, "human")
    assert store.label_of("j", "carol", "q1", "py#0") is None
    assert [c.value for c in at.caption] == ["Saved: 3 · Highly relevant"]
    assert [b.label for b in at.button if b.label.startswith("✓")] == ["✓ 3 · Highly relevant"]
    check(at.run())  # "Saved" shows once; the mark stays with the stored label
    assert not at.caption and any(b.label == "✓ 3 · Highly relevant" for b in at.button)


def test_page_pool_is_the_cli_pool_and_a_replaced_set_reaches_the_judge(corpus, store, capsys):
    at = build_pool(open_page(), ["bm25", "fake-encoder"], depth=3)
    page_pool = store.pools("j", "dev")[-1]
    argv = ["judgments", "pool", "--corpus", "j", "--queries", "dev", "--depth", "3", "--json"]
    assert cli_main(argv + ["--rankers", "bm25", "fake-encoder"]) == 0
    cli_pool = store.pool(json.loads(capsys.readouterr().out)["pool"])
    assert cli_pool.items == page_pool.items and cli_pool.rankers == page_pool.rankers
    # the Search page replaces the set in the corpus: the Judge page shows the new text
    corpus.add_query_set("dev", [Query("q1", "order numbers ascending"), QUERIES[1]], replace=True)
    at.session_state[state.JUDGE_POOL] = page_pool.id
    at = check(at.run())
    html = next(m.value for m in at.markdown if 'class="rl-jq"' in m.value)
    query = re.sub(r"<[^>]+>", "", html.split('<div class="rl-jp">')[0])
    assert query == "Query q1order numbers ascending"  # q1 comes first in every order


def test_a_set_replaced_on_the_search_page_reaches_the_judge_page(corpus, store):
    at = build_pool(open_page(), ["bm25"], depth=2)
    search = check(
        AppTest.from_file(str(ROOT / "pages" / "search" / "page.py"), default_timeout=60).run()
    )
    data = b"q1\tboiling water for black tea\nq2\tgreen tea temperature\n"
    search.file_uploader(key="rl_search_upload").set_value(("dev.tsv", data, "text/plain")).run()
    search.text_input(key="rl_search_up_name").set_value("dev").run()
    search.checkbox(key="rl_search_up_replace:dev").check().run()
    check(search.button(key="rl_search_up_add").click().run())
    assert any("Replaced query set 'dev'" in s.value for s in search.success)
    at.session_state[state.JUDGE_TAB] = header.JUDGE
    at = check(at.run())
    html = next(m.value for m in at.markdown if 'class="rl-jq"' in m.value)
    query = re.sub(r"<[^>]+>", "", html.split('<div class="rl-jp">')[0])
    assert query == "Query q1boiling water for black tea"  # q1 comes first in every order
