"""The class pages (AppTest): the teacher starts a class and reads the board (progress, agreement,
rankers) on pages/class/page.py; a student joins with the code, sees only the class, judges by the
grade buttons, and a wrong or closed code is refused."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components import classroom
from ranklens.corpus import ingest
from ranklens.judging import JudgmentStore
from ranklens.judging.classes import ClassStore
from ranklens.teaching.classroom import start_class
from ranklens.types import Query

from .conftest import ROOT

APP = str(ROOT / "app.py")
QUERIES = [Query("q1", "sort a python list"), Query("q2", "green tea temperature")]


@pytest.fixture
def corpus(home, monkeypatch, small_jsonl, fake_encoder):
    monkeypatch.setenv("RANKLENS_DEMO", "0")
    c = ingest.ingest(small_jsonl, "k", ["bm25", "fake-encoder"], home)
    c.add_query_set("dev", QUERIES)
    return c


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _join(code: str, name: str) -> AppTest:
    def script() -> None:
        from components import classroom

        classroom.join_page()

    at = _run(AppTest.from_function(script, default_timeout=60))
    at.text_input(key=classroom.JOIN_NAME).input(name)
    at.text_input(key=classroom.JOIN_CODE).input(code)
    at.button[0].click()
    return _run(at)


def test_teacher_starts_a_class_and_reads_the_board(corpus, home):
    at = _run(AppTest.from_file(str(ROOT / "pages" / "class" / "page.py"), default_timeout=120))
    at.number_input(key="rl_class_pairs").set_value(4)
    next(b for b in at.button if b.label == "Start the class").click()
    _run(at)
    with JudgmentStore(home.db_url) as store:
        info = ClassStore(store).list()[-1]
        assert len(info.pairs) == 4
        classes = ClassStore(store)
        for name, grades in (("ann", [0, 1, 2, 3]), ("bob", [0, 1, 3, 3])):
            classes.join(info.code, name)
            for pos, g in enumerate(grades):
                classes.save_label(info.id, name, pos, g, reason=f"{name} says {g}")
    _run(at)
    text = " ".join(m.value for m in at.markdown)
    assert f"Join code: `{info.code}`" in text
    assert "Fleiss' kappa" in [m.label for m in at.metric]
    table = at.dataframe[0].value
    assert sorted(table["student"]) == ["ann", "bob"] and list(table["graded"]) == [4, 4]
    assert "bob says 3" in text  # the widest pair shows the reasons
    rankers = at.dataframe[1].value
    assert list(rankers["ranker"]) and "nDCG@10 (class labels)" in rankers.columns
    at.toggle(key="rl_class_anonymous").set_value(True)
    _run(at)
    assert sorted(at.dataframe[0].value["student"]) == ["Student 1", "Student 2"]


def test_student_joins_by_code_sees_only_the_class_and_judges(corpus, home, monkeypatch):
    monkeypatch.setenv("RANKLENS_TEAM", "1")
    with JudgmentStore(home.db_url) as store:
        info = start_class(store, corpus, "dev", 3, seed=1, rankers=["bm25"], depth=3)
    wrong = _join("ZZZZZZ", "ann")
    assert "no open class has this code" in wrong.error[0].value
    at = _join(info.code.lower(), "ann")
    assert at.session_state[classroom.STUDENT] == (info.id, "ann")
    # the app, for this session: only the class's judging page, no sign-in and no other page
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state[classroom.STUDENT] = (info.id, "ann")
    _run(app)
    assert [t.value for t in app.title] == ["Class"]
    assert "0 of 3 pairs graded" in app.get("progress")[0].proto.text
    grade_buttons = [b for b in app.button if b.key and b.key.startswith("rl_class_grade_")]
    assert len(grade_buttons) == 4
    app.text_input(key=[t.key for t in app.text_input][0]).input("mentions it")
    grade_buttons[2].click()
    _run(app)
    with JudgmentStore(home.db_url) as store:
        labels = ClassStore(store).labels(info.id)
    assert [(lab.student, lab.grade, lab.reason) for lab in labels] == [("ann", 2, "mentions it")]
    assert labels[0].seconds is not None
    assert "1 of 3 pairs graded" in app.get("progress")[0].proto.text
    # closing the class signs its students out; the code is refused from then on
    with JudgmentStore(home.db_url) as store:
        ClassStore(store).set_state(info.id, "closed")
    _run(app)
    assert [t.value for t in app.title] == ["Sign in"]
    assert "no open class has this code" in _join(info.code, "bob").error[0].value
