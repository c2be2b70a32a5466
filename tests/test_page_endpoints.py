"""Live search endpoints in the app (AppTest): the Corpus page's "Search endpoints" tab (add, test,
ask again, delete; admins only in team mode) and the Search page with endpoint:NAME beside bm25,
against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from components import auth, state
from pages.corpus import endpoints_tab
from ranklens.corpus.ingest import ingest
from ranklens.judging import JudgmentStore
from ranklens.judging import annotators as accounts
from ranklens.ranking.endpoints import EndpointStore, parse_spec
from ranklens.types import Query

from .conftest import ROOT, write_jsonl
from .search_engines import Engine

CORPUS_PAGE = str(ROOT / "pages" / "corpus" / "page.py")
SEARCH_PAGE = str(ROOT / "pages" / "search" / "page.py")
APP = str(ROOT / "app.py")
DOCS = [
    ("tea", "Green tea", "Green tea is brewed at a lower temperature than black tea."),
    ("moon", "The Moon", "The Moon orbits the Earth and causes the tides."),
    ("bread", "Sourdough", "Sourdough bread rises with wild yeast."),
]


@pytest.fixture
def engine():
    e = Engine().start()
    yield e
    e.stop()


@pytest.fixture
def corpus(home):
    path = write_jsonl(
        home.home.parent / "docs.jsonl", [{"_id": i, "title": t, "text": x} for i, t, x in DOCS]
    )
    c = ingest(path, "pages", ["bm25"], home)
    c.add_query_set("set1", [Query("q1", "green tea"), Query("q2", "moon")])
    return c


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return _run(at)


def test_add_test_refresh_and_delete_an_endpoint(corpus, engine):
    at = _run(AppTest.from_file(CORPUS_PAGE, default_timeout=60))
    assert any("No endpoint yet" in i.value for i in at.info)
    at.text_input(key=endpoints_tab.ADD_NAME).input("prod")
    at.text_area(key=endpoints_tab.ADD_TOML).input('preset = "solr"\nurl = "ftp://x/select"')
    click(at, "Save endpoint")
    assert any("url must start with http" in e.value for e in at.error)
    assert EndpointStore(corpus.dir).names() == []  # nothing stored on error

    toml = f'preset = "elasticsearch"\nurl = "{engine.url}/docs/_search"'
    at.text_area(key=endpoints_tab.ADD_TOML).input(toml)
    click(at, "Save endpoint")
    assert any("Saved endpoint:prod" in s.value for s in at.success)
    assert EndpointStore(corpus.dir).names() == ["prod"]
    _run(at)
    tables = [df.value for df in at.dataframe]
    assert any("endpoint:prod" in list(t.get("ranker", [])) for t in tables)

    at.text_input(key="rl_ep_test_query").input("green tea")
    click(at, "Test")
    hits = next(df.value for df in at.dataframe if "in the corpus" in df.value.columns)
    assert list(hits["id"]) == ["tea", "ext-2", "ext-1"]
    assert list(hits["in the corpus"]) == [True, False, False]

    click(at, "Ask again for every query of the set")
    assert any("2 queries asked again" in s.value for s in at.success)

    click(at, "Delete endpoint")
    assert EndpointStore(corpus.dir).names() == []


def test_a_mapping_error_on_test_says_which_path(corpus, engine):
    spec = parse_spec(f'preset = "elasticsearch"\nurl = "{engine.url}/wrongshape"', "prod.toml")
    EndpointStore(corpus.dir).add("prod", spec)
    at = _run(AppTest.from_file(CORPUS_PAGE, default_timeout=60))
    at.text_input(key="rl_ep_test_query").input("tea")
    click(at, "Test")
    assert any("response.hits = 'hits.hits' matched nothing" in e.value for e in at.error)


def test_a_secret_never_reaches_the_page(corpus, engine, monkeypatch):
    secret = "pg-s3cret-Xy7"
    monkeypatch.setenv("SEARCH_KEY", secret)
    toml = (
        f'preset = "elasticsearch"\nurl = "{engine.url}/echo"\nretries = 0\n'
        '[headers]\nAuthorization = "Bearer ${SEARCH_KEY}"'
    )
    EndpointStore(corpus.dir).add("prod", parse_spec(toml, "prod.toml"))
    at = _run(AppTest.from_file(CORPUS_PAGE, default_timeout=60))
    at.text_input(key="rl_ep_test_query").input("tea")
    click(at, "Test")
    assert engine.requests[-1]["headers"]["Authorization"] == f"Bearer {secret}"
    assert any("HTTP 500" in e.value for e in at.error)
    shown = [
        str(x.value) for kind in ("error", "markdown", "caption", "text") for x in at.get(kind)
    ]
    shown += [df.value.to_csv() for df in at.dataframe]
    assert shown and not [x for x in shown if secret in x]


def test_search_page_shows_the_endpoint_beside_bm25(corpus, engine):
    spec = parse_spec(f'preset = "opensearch"\nurl = "{engine.url}/os/docs/_search"', "p.toml")
    EndpointStore(corpus.dir).add("prod", spec)
    at = _run(AppTest.from_file(SEARCH_PAGE, default_timeout=60))
    assert "endpoint:prod" in at.multiselect(key=state.SEARCH_RANKERS).options
    at.multiselect(key=state.SEARCH_RANKERS).set_value(["bm25", "endpoint:prod"])
    at.text_input(key=state.SEARCH_QUERY).set_value("green tea")
    _run(at)
    headers = [m.value for m in at.markdown if m.value.startswith("**")]
    assert any("endpoint:prod" in h for h in headers) and any("bm25" in h for h in headers)
    columns = []
    for col in at.columns:
        found = [m.value for m in col.markdown if 'class="rl-card"' in m.value]
        if found:
            columns.append(found)
    assert len(columns) == 2
    endpoint_cards = "".join(columns[1])
    assert "ext-2" in endpoint_cards and "ext-1" in endpoint_cards
    assert len(columns[1]) == 3 and engine.count("/os/docs/_search") == 1


@pytest.mark.parametrize("admin", [False, True])
def test_team_mode_endpoints_are_for_admins(home, monkeypatch, corpus, engine, admin, jar):
    monkeypatch.setenv("RANKLENS_TEAM", "1")
    monkeypatch.setenv("RANKLENS_DEMO", "0")
    monkeypatch.setattr(auth, "FAILED_WAIT_S", 0.0)
    spec = parse_spec(f'preset = "elasticsearch"\nurl = "{engine.url}/docs/_search"', "p.toml")
    EndpointStore(corpus.dir).add("prod", spec)
    with JudgmentStore(home.db_url) as store:
        _, key = accounts.add(store, "gil", admin=admin)
    at = _run(AppTest.from_file(APP, default_timeout=60))
    at.text_input(key=auth.SIGN_IN_NAME).input("gil")
    at.text_input(key=auth.SIGN_IN_KEY).input(key)
    at.button[0].click()
    _run(at)
    _run(at)  # the browser reloads after a sign-in: the next run carries its cookie
    _run(at.switch_page("pages/corpus/page.py"))  # the app opens on the start page
    notes = [c.value for c in at.caption if c.value.startswith("Only an admin can")]
    assert ("Only an admin can add, test or delete an endpoint." in notes) is not admin
    assert bool([b for b in at.button if b.label == "Save endpoint"]) is admin
    assert bool([b for b in at.button if b.label == "Delete endpoint"]) is admin
    tables = [df.value for df in at.dataframe]
    assert any("endpoint:prod" in list(t.get("ranker", [])) for t in tables)  # listed to all
