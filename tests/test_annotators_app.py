"""Team mode in the app (AppTest of app.py): the sign-in gate before every page, wrong keys,
a session that ends when its key is reset, and no gate outside team mode."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components import auth
from ranklens.judging import JudgmentStore
from ranklens.judging import annotators as accounts

from .conftest import ROOT

APP = str(ROOT / "app.py")


@pytest.fixture
def team(home, monkeypatch, jar):
    monkeypatch.setenv("RANKLENS_TEAM", "1")
    monkeypatch.setenv("RANKLENS_DEMO", "0")
    monkeypatch.setattr(auth, "FAILED_WAIT_S", 0.0)
    auth._throttle.clear()
    return home


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _sign_in(at: AppTest, name: str, key: str) -> AppTest:
    at.text_input(key=auth.SIGN_IN_NAME).input(name)
    at.text_input(key=auth.SIGN_IN_KEY).input(key)
    at.button[0].click()  # the form's submit button
    _run(at)
    if any(c.value == "Signing in…" for c in at.caption):
        _run(at)  # the browser reloads after a sign-in: the next run carries its cookie
    return at


def _titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def test_nothing_runs_before_sign_in_and_a_wrong_key_is_refused(team):
    with JudgmentStore(team.db_url) as store:
        _, key = accounts.add(store, "alice")
        _, bob_key = accounts.add(store, "bob", admin=True)
    at = _run(AppTest.from_file(APP, default_timeout=60))
    assert _titles(at) == ["Sign in"]  # the Corpus page (the default) did not run
    _sign_in(at, "alice", bob_key)
    assert [e.value for e in at.error] == ["Wrong name or key."]
    assert _titles(at) == ["Sign in"]
    _sign_in(at, "mallory", key)
    assert _titles(at) == ["Sign in"]
    _sign_in(at, "alice", key)
    assert "Sign in" not in _titles(at) and _titles(at)  # the page runs now
    assert any("Signed in as **alice**" in c.value for c in at.sidebar.caption)
    assert at.session_state["rl_annotator"] == "alice"
    # the admin resets alice's key: her session ends at its next run
    with JudgmentStore(team.db_url) as store:
        accounts.reset_key(store, "alice")
    _run(at)
    assert _titles(at) == ["Sign in"]


def test_nobody_can_sign_in_until_an_admin_is_added(team):
    at = _run(AppTest.from_file(APP, default_timeout=60))
    _sign_in(at, "alice", "anything")
    assert "annotators add NAME --admin" in at.error[0].value


def test_sign_out(team):
    with JudgmentStore(team.db_url) as store:
        _, key = accounts.add(store, "carol")
    at = _sign_in(_run(AppTest.from_file(APP, default_timeout=60)), "carol", key)
    at.sidebar.button(key=auth.SIGN_OUT).click()
    _run(at)
    _run(at)
    assert _titles(at) == ["Sign in"]


def test_no_gate_outside_team_mode(home, monkeypatch):
    monkeypatch.delenv("RANKLENS_TEAM", raising=False)
    monkeypatch.setenv("RANKLENS_DEMO", "0")
    at = _run(AppTest.from_file(APP, default_timeout=60))
    assert "Sign in" not in _titles(at) and _titles(at)


def _judge_page(team, small_jsonl, name: str, admin: bool) -> AppTest:
    from components import state
    from pages.judge import header
    from ranklens.corpus.ingest import ingest

    ingest(small_jsonl, "teamc", ["bm25"], team)
    with JudgmentStore(team.db_url) as store:
        _, key = accounts.add(store, name, admin=admin)
        for who, grade in (("ann", 0), ("ben", 3)):  # one disagreement to adjudicate
            store.add_label("teamc", who, "q1", "tea#0", grade, doc_id="tea")
    at = _sign_in(_run(AppTest.from_file(APP, default_timeout=60)), name, key)
    at.switch_page("pages/judge/page.py")
    _run(at)
    assert "Judge" in _titles(at)
    assert not [t for t in at.text_input if t.key == state.JUDGE_NAME]  # no name box
    assert any(f"Judging as `{name}`" in c.value for c in at.caption)
    at.session_state[state.JUDGE_TAB_NEXT] = header.SET_UP
    return _run(at)


def _admin_notes(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("Only an admin can")]


def test_a_non_admin_sees_no_admin_actions(team, small_jsonl):
    from components import state
    from pages.judge import header

    at = _judge_page(team, small_jsonl, "dora", admin=False)
    assert "Only an admin can change the scale." in _admin_notes(at)
    assert not [b for b in at.button if b.label == "Set scale"]
    at.session_state[state.JUDGE_TAB_NEXT] = header.FINAL
    _run(at)  # blind judging: no final labels (they show others' grades), no import
    assert "Only an admin can see and download the final labels (blind judging)." in (
        _admin_notes(at)
    )
    assert not [u for u in at.get("file_uploader") if u.proto.label == "Qrels file"]
    assert not at.get("download_button")
    at.session_state[state.JUDGE_TAB_NEXT] = header.AGREEMENT
    _run(at)
    assert any("Only an admin can see agreement" in c for c in _admin_notes(at))
    assert not [b for b in at.button if "adjudicated" in (b.label or "")]


def test_an_admin_sees_them(team, small_jsonl):
    from components import state
    from pages.judge import header

    at = _judge_page(team, small_jsonl, "erin", admin=True)
    assert not _admin_notes(at)
    assert [b for b in at.button if b.label == "Set scale"]
    at.session_state[state.JUDGE_TAB_NEXT] = header.FINAL
    _run(at)
    assert not _admin_notes(at)
    at.session_state[state.JUDGE_TAB_NEXT] = header.AGREEMENT
    _run(at)
    assert not _admin_notes(at)
    assert [b for b in at.button if b.label == "Record adjudicated label"]


@pytest.mark.parametrize("admin", [False, True])
def test_corpus_page_path_and_delete_are_for_admins(team, small_jsonl, admin):
    from ranklens.corpus.ingest import ingest

    ingest(small_jsonl, "teamc", ["bm25"], team)
    with JudgmentStore(team.db_url) as store:
        _, key = accounts.add(store, "gil", admin=admin)
    at = _sign_in(_run(AppTest.from_file(APP, default_timeout=60)), "gil", key)
    assert _titles(at) == ["RankLens"]  # the start page first
    at = _run(at.switch_page("pages/corpus/page.py"))
    assert "Corpora" in _titles(at)
    assert ("Only an admin can add a corpus." in _admin_notes(at)) is not admin
    if admin:
        options = at.radio[0].options
        assert "Path on this machine" in options and "Upload files" in options
    else:
        assert not at.radio
    assert ("Only an admin can delete a corpus." in _admin_notes(at)) is not admin
    assert bool([b for b in at.button if b.label == "Delete corpus"]) is admin


def test_sign_in_is_rate_limited(team):
    with JudgmentStore(team.db_url) as store:
        _, key = accounts.add(store, "hana")
    at = _run(AppTest.from_file(APP, default_timeout=60))
    for _ in range(3):  # the free allowance of wrong keys for one name
        _sign_in(at, "hana", "wrong")
        assert [e.value for e in at.error] == ["Wrong name or key."]
    _sign_in(at, "hana", "wrong")
    _sign_in(at, "hana", key)  # even the right key waits now
    assert at.error[0].value.startswith("Too many failed sign-ins: try again in")
    assert _titles(at) == ["Sign in"]


def _page_text(at: AppTest) -> str:
    parts = [str(e.value) for e in at.markdown] + [str(e.value) for e in at.caption]
    parts += [d.value.to_csv() for d in at.dataframe]
    parts += [str(m.value) + str(m.label) for m in at.metric]
    return "\n".join(parts)


def test_blind_judging_for_a_non_admin(team, small_jsonl):
    from components import state
    from pages.judge import header
    from ranklens.access import Actor
    from ranklens.judging import blind

    at = _judge_page(team, small_jsonl, "dora", admin=False)  # ann and ben disagree on tea#0
    at.session_state[state.JUDGE_TAB_NEXT] = header.AGREEMENT
    _run(at)
    text = _page_text(at)
    assert "Only an admin can see agreement" in text
    assert "ann" not in text.replace("annotator", "") and "ben" not in text
    assert not at.dataframe and not at.get("download_button")
    with JudgmentStore(team.db_url) as store:  # an admin chooses to show figures, not names
        blind.set_reveal_agreement(store, True, actor=Actor("lead", True))
    at.session_state[state.JUDGE_TAB_NEXT] = header.AGREEMENT
    _run(at)
    text = _page_text(at)
    assert "annotator 1" in text and "Krippendorff" in text
    assert "ann " not in text and "ben" not in text and "ann," not in text
    assert not [b for b in at.button if "adjudicated" in (b.label or "")]
    assert not at.get("download_button")
    at.session_state[state.JUDGE_TAB_NEXT] = header.FINAL
    _run(at)
    assert not at.dataframe and not at.get("download_button")
    assert not [s for s in at.selectbox if any("annotator:" in str(o) for o in s.options)]


def test_an_admin_gets_label_downloads_made_on_click(team, small_jsonl, monkeypatch):
    from streamlit.runtime.media_file_manager import MediaFileManager

    from components import state
    from pages.judge import header

    made = {}
    deferred = MediaFileManager.add_deferred

    def keep(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        made[file_name] = data_callable
        return deferred(self, data_callable, mimetype, coordinates, file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    at = _judge_page(team, small_jsonl, "erin", admin=True)
    at.session_state[state.JUDGE_TAB_NEXT] = header.FINAL
    _run(at)
    buttons = at.get("download_button")
    assert len(buttons) == 2
    assert all(b.proto.deferred_file_id for b in buttons)  # no data in the page: made on click
    trec = next(f for name, f in made.items() if name.endswith(".qrels"))
    assert b"q1" in trec()  # the admin clicks: the file is made now
    with JudgmentStore(team.db_url) as store:
        accounts.remove(store, "erin")
    with pytest.raises(PermissionError):  # a click after the admin was removed makes nothing
        trec()


def _job_panel_script() -> None:
    from components import job_panel

    job_panel._draw_panel()


def test_the_job_list_shows_who_started_each_and_cancel_is_the_starters(team, jar):
    from components import job_panel
    from ranklens import jobs
    from ranklens.judging import sign_ins

    with JudgmentStore(team.db_url) as store:
        dora, _ = accounts.add(store, "dora")
        jar.give(sign_ins.start(store, dora))
    for who in ("bea", "dora"):
        job = jobs.Job(f"job-{who}", "suggest", f"k-{who}", {}, f"Scoring for {who}")
        job.state, job.started_by = jobs.RUNNING, who
        jobs._write(team, job)
    at = AppTest.from_function(_job_panel_script, default_timeout=60)
    at.session_state[job_panel.SEEN] = []
    _run(at)
    captions = [c.value for c in at.caption]
    assert "Scoring for bea · started by bea" in captions
    assert "Scoring for dora · started by dora" in captions
    cancels = [b.key for b in at.button if b.label == "Cancel"]
    assert cancels == ["rl_job_cancel_panel_job-dora"]  # not bea's
    jar.take_back()  # signed out (or removed): the same panel offers no cancel at all
    _run(at)
    assert not [b for b in at.button if b.label == "Cancel"]


def test_a_session_without_its_browsers_cookie_is_signed_out(team, jar):
    """The second layer behind Streamlit's refused takeover: whatever a session holds, who is
    signed in is read from the browser's cookie on every run."""
    with JudgmentStore(team.db_url) as store:
        _, alice_key = accounts.add(store, "alice")
        accounts.add(store, "bob")
    at = _sign_in(_run(AppTest.from_file(APP, default_timeout=60)), "alice", alice_key)
    assert "Sign in" not in _titles(at)
    at.session_state["rl_search_query"] = "alice's private query"
    alices = jar.value
    jar.take_back()  # another client, presenting alice's session without her cookie
    _run(at)
    assert _titles(at) == ["Sign in"]
    assert "rl_search_query" not in at.session_state  # nothing of hers is kept
    jar.give(alices)
    _run(at)
    assert any("Signed in as **alice**" in c.value for c in at.sidebar.caption)
    at.session_state["rl_search_query"] = "alice's private query"
    with JudgmentStore(team.db_url) as store:  # bob's own cookie in alice's session
        from ranklens.judging import sign_ins

        jar.give(sign_ins.start(store, accounts.get(store, "bob")))
    _run(at)
    assert any("Signed in as **bob**" in c.value for c in at.sidebar.caption)
    assert "rl_search_query" not in at.session_state
