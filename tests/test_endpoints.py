"""Live search endpoints (ranklens.ranking.endpoints) against a real HTTP server on 127.0.0.1 answering
like Elasticsearch 8, OpenSearch 2, Solr 9 and Vespa 8: presets, templates (no injection),
secrets, cache, retries, timeouts, mapping errors, documents the corpus lacks, recipes,
evaluation, snapshots and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from ranklens.cli import main
from ranklens.corpus import external_docs
from ranklens.corpus.ingest import ingest
from ranklens.evaluation import measures as evaluate
from ranklens.evaluation import snapshots, snapshots_store
from ranklens.judging import JudgmentStore
from ranklens.ranking import rankers, recipes
from ranklens.ranking.endpoints import (
    EndpointError,
    EndpointRanker,
    EndpointStore,
    parse_spec,
)
from ranklens.ranking.endpoints.client import retry_after, scrub
from ranklens.ranking.endpoints.spec import SpecError
from ranklens.ranking.recipes import available_rankers, make_ranker, make_rankers
from ranklens.types import Qrel, Query

from .conftest import docs_jsonl
from .search_engines import Engine, matches

CORPUS_DOCS = [
    ("tea", "Green tea", "Green tea is brewed at a lower temperature than black tea."),
    ("moon", "The Moon", "The Moon orbits the Earth and causes the tides."),
    ("py", "Py", " ".join(["Python lists are mutable sequences you can sort."] * 30)),
    ("bread", "Sourdough", "Sourdough bread rises with wild yeast."),
]
SECRET = "s3cr3t-Zq9-value"
# where each preset's documented answer is served (tests/search_engines.py)
PRESET_PATHS = {
    "elasticsearch": "/docs/_search",
    "opensearch": "/os/docs/_search",
    "solr": "/solr/docs/select",
    "vespa": "/vespa/search/",
}


@pytest.fixture
def engine():
    e = Engine().start()
    yield e
    e.stop()


@pytest.fixture
def corpus(home):
    path = docs_jsonl(home.home.parent / "docs.jsonl", CORPUS_DOCS)
    c = ingest(path, "eng", ["bm25"], home)
    c.add_query_set("set1", [Query("q1", "green tea"), Query("q2", "moon tides")])
    return c


def add(corpus, name: str, toml: str, replace: bool = False) -> EndpointRanker:
    EndpointStore(corpus.dir, corpus.name).add(name, parse_spec(toml, name), replace=replace)
    return EndpointRanker(corpus, name)


def es_toml(url: str, preset: str = "elasticsearch", extra: str = "") -> str:
    return f'preset = "{preset}"\nurl = "{url}"\n{extra}'


# ---------------------------------------------------------------- presets and documented shapes


@pytest.mark.parametrize(("preset", "path"), PRESET_PATHS.items())
def test_presets_read_the_documented_answers(corpus, engine, preset, path):
    ranker = add(corpus, "prod", es_toml(engine.url + path, preset))
    run = ranker.rank([Query("q1", "green tea"), Query("q2", "nothing matches zzz")], 3)
    hits = run["q1"]
    expected = matches("green tea")
    assert [h.doc_id for h in hits] == [d for d, *_ in expected] == ["tea", "ext-2", "ext-1"]
    assert [h.rank for h in hits] == [1, 2, 3]
    assert [h.score for h in hits] == [s for *_, s in expected]  # the scores the engine sent
    assert hits[0].passage_id == "tea#0"  # a document of the corpus: its first passage
    assert hits[1].passage_id == "ext-2"  # one the corpus lacks keeps its id
    assert run["q2"] == []  # Vespa leaves `children` out: an empty answer, not an error
    sent = engine.requests[0]
    if preset == "solr":
        assert sent["method"] == "GET" and sent["params"]["rows"] == "10"
        assert sent["params"]["fl"] == "id,score,title,text"
        assert sent["params"]["defType"] == "dismax"
    elif preset == "vespa":
        assert sent["body"]["hits"] == 10
        assert sent["body"]["yql"] == "select * from sources * where userQuery()"
    else:
        assert sent["body"]["size"] == 10
        assert sent["body"]["query"]["multi_match"]["fields"] == ["title", "text"]
    kept = external_docs.get(corpus.dir, ["ext-1", "ext-2", "tea"])
    assert set(kept) == {"ext-1", "ext-2"}  # only what the corpus lacks
    assert kept["ext-1"].title == "Oolong" and kept["ext-1"].source == "endpoint:prod"
    assert kept["ext-2"].text.startswith("Matcha")


def test_json_preset_with_jmespath_mapping(corpus, engine):
    toml = f"""
preset = "json"
url = "{engine.url}/api/search"
body = '{{"q": {{{{query}}}}, "limit": {{{{k}}}}}}'
[response]
hits = "data.results"
id = "doc.key"
score = "relevance"
title = "doc.name"
text = "doc.body"
"""
    ranker = add(corpus, "api", toml)
    hits = ranker.rank([Query("q", "moon tides")], 5)["q"]
    assert [h.doc_id for h in hits] == ["moon"]
    assert engine.requests[0]["body"] == {"q": "moon tides", "limit": 10}


def test_passage_ids_of_the_corpus_are_passages_of_their_document(corpus, engine):
    engine.ids = ["py#1", "bread", "elsewhere"]
    ranker = add(corpus, "ids", es_toml(engine.url + "/ids", extra='text_field = "t"'))
    hits = ranker.rank([Query("q", "anything")], 10)["q"]
    assert [(h.passage_id, h.doc_id) for h in hits] == [
        ("py#1", "py"),
        ("bread#0", "bread"),  # a document of the corpus: its first passage
        ("elsewhere", "elsewhere"),
    ]
    # at document level (rank_all), the endpoint is asked once, for a bounded size
    result = rankers.rank_all([ranker], [Query("q", "anything")], 10, level="doc")
    assert [h.doc_id for h in result.runs[ranker.name]["q"]] == ["py", "bread", "elsewhere"]
    assert {r["body"]["size"] for r in engine.requests} <= {10, 100}


# ---------------------------------------------------------------- templates: no injection


HOSTILE = 'he said "stop" }, {"match_all": {}} {{k}} \\ ${HOME} \' or 1=1'


@pytest.mark.parametrize(
    ("preset", "path"), [(k, v) for k, v in PRESET_PATHS.items() if k != "opensearch"]
)
def test_a_query_with_quotes_and_braces_is_sent_as_text(corpus, engine, preset, path):
    ranker = add(corpus, "prod", es_toml(engine.url + path, preset))
    ranker.rank([Query("q", HOSTILE)], 10)
    sent = engine.requests[-1]
    if preset == "solr":
        assert sent["params"]["q"] == HOSTILE
    elif preset == "vespa":
        assert sent["body"]["query"] == HOSTILE
        assert sent["body"]["yql"] == "select * from sources * where userQuery()"
    else:
        assert sent["body"]["query"] == {
            "multi_match": {"query": HOSTILE, "fields": ["title", "text"]}
        }
        assert sent["body"]["size"] == 10


def test_a_toml_table_body_takes_whole_values_only(corpus, engine):
    toml = f"""
preset = "elasticsearch"
url = "{engine.url}/docs/_search"
[body]
size = "{{{{k}}}}"
query = {{ multi_match = {{ query = "{{{{query}}}}", fields = ["title"] }} }}
"""
    add(corpus, "prod", toml).rank([Query("q", HOSTILE)], 10)
    assert engine.requests[-1]["body"]["query"]["multi_match"]["query"] == HOSTILE
    assert engine.requests[-1]["body"]["size"] == 10
    bad = toml.replace('query = "{{query}}"', 'query = "title:{{query}}"')
    with pytest.raises(SpecError, match="whole JSON values"):
        parse_spec(bad, "prod.toml")


def test_query_inside_a_longer_string_is_refused():
    toml = """
preset = "vespa"
url = "http://127.0.0.1:1/search/"
body = '{"yql": "select * from doc where title contains \\"{{query}}\\"", "hits": {{k}}}'
"""
    with pytest.raises(SpecError, match=r"whole JSON values"):
        parse_spec(toml, "vespa.toml")
    toml = """
preset = "json"
url = "http://127.0.0.1:1/search"
body = \'{"q": "title:{{query}}", "n": {{k}}}\'
[response]
hits = "a"
id = "b"
"""
    with pytest.raises(SpecError, match=r"whole JSON values"):
        parse_spec(toml, "vespa.toml")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('preset = "solr"\nurl = "ftp://host/select"', "http:// or https://"),
        ('preset = "solr"\nurl = "file:///etc/passwd"', "http:// or https://"),
        ('preset = "solr"\nurl = "http://u:pw@host/select"', "user name or password"),
        (
            'preset = "elasticsearch"\nurl = "http://h/_search"\n[headers]\nAuthorization = '
            '"Bearer abc"',
            "literal credential",
        ),
        ('preset = "nope"\nurl = "http://h/"', "preset must be one of"),
        ('preset = "json"\nurl = "http://h/"\n[response]\nhits = "a"\nid = "b"', "never sends"),
        ('preset = "json"\nurl = "http://h/"\nbody = \'{"q": {{query}}\'', "not a JSON template"),
        ('preset = "solr"\nurl = "http://h/"\n[response]\nid = "a[["', "not a JMESPath"),
        ('preset = "solr"\nurl = "http://h/"\nmax_k = 5000', "max_k must be"),
        ('preset = "solr"\nurl = "http://h/"\nsurprise = 1', "unknown key 'surprise'"),
        ('preset = "solr"\nurl = [', "not valid TOML"),
    ],
)
def test_bad_configurations_say_what_is_expected(toml, message):
    with pytest.raises(SpecError, match=message) as info:
        parse_spec(toml, "prod.toml")
    assert str(info.value).startswith("prod.toml")


def test_error_names_the_line_of_the_bad_key():
    with pytest.raises(SpecError) as info:
        parse_spec('preset = "solr"\n\nurl = "gopher://h/"\n', "prod.toml")
    assert info.value.line == 3


# ---------------------------------------------------------------- secrets


def test_a_secret_is_read_at_request_time_and_stored_nowhere(corpus, engine, monkeypatch, home):
    monkeypatch.setenv("SEARCH_KEY", SECRET)
    extra = '[headers]\nAuthorization = "Bearer ${SEARCH_KEY}"\n'
    ranker = add(corpus, "prod", es_toml(engine.url + "/docs/_search", extra=extra))
    ranker.rank([Query("q", "green tea")], 5)
    assert engine.requests[-1]["headers"]["Authorization"] == f"Bearer {SECRET}"
    echo = add(corpus, "echo", es_toml(engine.url + "/echo", extra="retries = 0\n" + extra))
    with pytest.raises(EndpointError) as info:
        echo.rank([Query("q", "green tea")], 5)
    assert "HTTP 500" in str(info.value) and SECRET not in str(info.value)
    assert "***" in str(info.value)
    snap = snapshots.make_snapshot(
        "s1",
        corpus,
        "set1",
        {ranker.name: ranker.rank([Query("q1", "green tea")], 5)},
        evaluate.evaluate_runs(
            {ranker.name: ranker.rank([Query("q1", "green tea")], 5)},
            [Qrel("q1", "tea", 1)],
            ["nDCG@10"],
        ),
        [Qrel("q1", "tea", 1)],
    )
    with JudgmentStore(home.db_url) as store:
        snapshots_store.save(store, snap)
    assert main(["endpoints", "show", "prod", "--corpus", corpus.name]) == 0
    for path in home.home.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_an_unset_variable_is_named(corpus, engine, monkeypatch):
    monkeypatch.delenv("NOT_SET_KEY", raising=False)
    extra = '[headers]\nX-Api-Key = "${NOT_SET_KEY}"\n'
    ranker = add(corpus, "prod", es_toml(engine.url + "/docs/_search", extra=extra))
    with pytest.raises(Exception, match=r"NOT_SET_KEY.*not set"):
        ranker.rank([Query("q", "tea")], 5)
    assert engine.requests == []


# ---------------------------------------------------------------- cache


def test_answers_are_cached_per_configuration_query_and_size(corpus, engine):
    ranker = add(corpus, "prod", es_toml(engine.url + "/docs/_search"))
    queries = [Query("a", "green tea"), Query("b", "moon")]
    first = ranker.rank(queries, 10)
    assert len(engine.requests) == 2
    assert ranker.rank(queries, 10) == first and len(engine.requests) == 2
    assert ranker.rank(queries, 3)["a"] == first["a"][:3]  # the top of a larger answer
    assert len(engine.requests) == 2
    ranker.rank(queries, 50)  # asks for 100: the cached 10 held everything the engine had
    assert len(engine.requests) == 2
    fresh = EndpointRanker(corpus, "prod", refresh=True)
    fresh.rank(queries, 10)
    assert len(engine.requests) == 4 and fresh.fetched == 2
    # another configuration is another cache entry
    other = add(corpus, "prod", es_toml(engine.url + "/docs/_search", extra="max_k = 50"), True)
    assert other.spec.hash != ranker.spec.hash
    other.rank(queries, 10)
    assert len(engine.requests) == 6


def test_delete_removes_the_endpoint_its_answers_and_texts(corpus, engine):
    ranker = add(corpus, "prod", es_toml(engine.url + "/docs/_search"))
    ranker.rank([Query("q", "green tea")], 10)
    assert external_docs.get(corpus.dir, ["ext-1"])
    store = EndpointStore(corpus.dir, corpus.name)
    assert store.delete("prod") == 1
    assert store.names() == [] and not external_docs.get(corpus.dir, ["ext-1"])
    again = add(corpus, "prod", es_toml(engine.url + "/docs/_search"))  # the same, added again
    again.rank([Query("q", "green tea")], 10)
    assert len(engine.requests) == 2  # its cached answers went with it
    assert external_docs.get(corpus.dir, ["ext-1"])  # and its texts are kept again
    store.delete("prod")
    with pytest.raises(rankers.RankerSpecError, match="no endpoint named 'prod'"):
        make_ranker("endpoint:prod", corpus)


# ---------------------------------------------------------------- limits, retries, failures


def test_429_is_retried_after_the_time_the_server_asks(corpus, engine):
    engine.fail_first = 2
    ranker = add(corpus, "prod", es_toml(engine.url + "/flaky", extra="backoff_s = 0.01\n"))
    hits = ranker.rank([Query("q", "green tea")], 5)["q"]
    assert hits[0].doc_id == "tea"
    times = [r["time"] for r in engine.requests]
    assert len(times) == 3
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.95  # Retry-After: 1


def test_a_dropped_connection_is_asked_again(corpus, engine):
    engine.fail_first = 1
    ranker = add(corpus, "prod", es_toml(engine.url + "/drop", extra="backoff_s = 0.01\n"))
    assert ranker.rank([Query("q", "green tea")], 5)["q"][0].doc_id == "tea"
    assert engine.count("/drop") == 2


def test_giving_up_names_the_endpoint_and_the_status(corpus, engine):
    toml = es_toml(engine.url + "/always500", extra="retries = 2\nbackoff_s = 0.01\n")
    ranker = add(corpus, "prod", toml)
    with pytest.raises(EndpointError) as info:
        ranker.rank([Query("q", "tea")], 5)
    message = str(info.value)
    assert "endpoint:prod" in message and "HTTP 500" in message and "3 attempts" in message
    assert engine.count("/always500") == 3


def test_what_was_answered_before_an_error_is_kept(corpus, engine):
    extra = "retries = 0\nconcurrency = 2\n"
    ranker = add(corpus, "prod", es_toml(engine.url + "/failsome", extra=extra))
    with pytest.raises(EndpointError, match="HTTP 500"):
        ranker.rank([Query("a", "green tea"), Query("b", "bad moon")], 10)
    assert external_docs.get(corpus.dir, ["ext-1", "ext-2"])  # texts of the answer that came
    sent = len(engine.requests)
    assert ranker.rank([Query("a", "green tea")], 10)["a"][0].doc_id == "tea"
    assert len(engine.requests) == sent  # from the cache


def test_a_slow_engine_times_out(corpus, engine):
    ranker = add(corpus, "prod", es_toml(engine.url + "/slow", extra="timeout_s = 0.3\n"))
    with pytest.raises(EndpointError, match=r"endpoint:prod .* did not answer within 0.3 s"):
        ranker.rank([Query("q", "tea")], 5)


def test_an_engine_that_is_down(corpus):
    ranker = add(corpus, "prod", es_toml("http://127.0.0.1:9/x/_search"))
    with pytest.raises(EndpointError, match=r"cannot reach endpoint:prod"):
        ranker.rank([Query("q", "tea")], 5)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/notjson", "not JSON"),
        ("/wrongshape", r"response.hits = 'hits.hits' matched nothing .*its keys: hits"),
        ("/noid", r"hit 1: response.id = '_id' matched nothing .*its keys: _score, _source"),
    ],
)
def test_answers_the_mapping_cannot_read(corpus, engine, path, message):
    ranker = add(corpus, "prod", es_toml(engine.url + path))
    with pytest.raises(EndpointError, match=message):
        ranker.rank([Query("q", "tea")], 5)


def test_rate_limit_and_concurrency_bound(corpus, engine):
    engine.delay = 0.05
    extra = "rate_limit = 20\nconcurrency = 2\n"
    ranker = add(corpus, "prod", es_toml(engine.url + "/docs/_search", extra=extra))
    ranker.rank([Query(str(i), f"tea {i}") for i in range(6)], 5)
    times = sorted(r["time"] for r in engine.requests)
    assert len(times) == 6
    # 20/s: six requests span at least 5 x 50 ms (unlimited, two at a time of 50 ms: ~100 ms);
    # the span, not each gap, so that a request the loaded machine delays a little still passes
    assert times[-1] - times[0] >= 0.2
    assert engine.max_in_flight <= 2


# ---------------------------------------------------------------- everywhere a ranker name works


def test_fusion_evaluation_and_snapshot(corpus, engine, home):
    add(corpus, "prod", es_toml(engine.url + "/docs/_search"))
    queries = corpus.query_sets()["set1"]
    assert "endpoint:prod" in available_rankers(corpus)
    chosen = make_rankers(["bm25", "endpoint:prod", "rrf(bm25,endpoint:prod)"], corpus)
    assert chosen[2].name == "rrf(bm25,endpoint:prod)"
    assert make_ranker("wsum(bm25,endpoint:prod)", corpus).name == ("wsum(bm25,endpoint:prod)")
    assert make_ranker("wsum(bm25:0.3,endpoint:prod:0.7)", corpus).name == (
        "wsum(bm25:0.3,endpoint:prod:0.7)"
    )
    result = rankers.rank_all(chosen, queries, 10, level="doc")
    assert [h.doc_id for h in result.runs["endpoint:prod"]["q1"]][:1] == ["tea"]
    fused = [h.doc_id for h in result.runs["rrf(bm25,endpoint:prod)"]["q1"]]
    assert fused[0] == "tea" and "ext-1" in fused
    qrels = [Qrel("q1", "tea", 2), Qrel("q1", "ext-1", 1), Qrel("q2", "moon", 1)]
    per_query = evaluate.evaluate_runs(result.runs, qrels, ["nDCG@10", "P@1"])
    means = evaluate.mean_scores(per_query)
    assert means["endpoint:prod"]["P@1"] == 1.0
    snap = snapshots.make_snapshot("nightly", corpus, "set1", result.runs, per_query, qrels)
    assert (
        snap.manifest["models"]["endpoint:prod"]["config_hash"]
        == EndpointStore(corpus.dir).get("prod").hash
    )
    with JudgmentStore(home.db_url) as store:
        snapshots_store.save(store, snap)
        loaded = snapshots_store.load(store, corpus.name, "nightly")
    assert loaded.runs["endpoint:prod"] == result.runs["endpoint:prod"]  # the hits it used


def test_listing_rankers_writes_nothing(corpus):
    assert not [r for r in available_rankers(corpus) if r.startswith("endpoint:")]
    assert not (corpus.dir / "endpoints.sqlite3").exists()


def test_unknown_endpoint_in_a_recipe(corpus):
    with pytest.raises(rankers.RankerSpecError, match="no endpoint named 'nope'"):
        make_ranker("rrf(bm25,endpoint:nope)", corpus)


# ---------------------------------------------------------------- CLI


def write(tmp_path, text: str):
    path = tmp_path / "prod.toml"
    path.write_text(text)
    return str(path)


def test_cli_add_list_show_test_refresh_delete(corpus, engine, tmp_path, capsys):
    config = write(tmp_path, es_toml(engine.url + "/docs/_search"))
    base = ["--corpus", corpus.name]
    assert main(["endpoints", "add", "prod", *base, "--config", config]) == 0
    assert main(["endpoints", "add", "prod", *base, "--config", config]) == 2
    assert "already has an endpoint named 'prod'" in capsys.readouterr().err
    assert main(["endpoints", "list", *base, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["ranker"] == "endpoint:prod" and listed[0]["preset"] == "elasticsearch"
    assert main(["endpoints", "show", "prod", *base]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["body"]["query"]["multi_match"]["query"] == "{{query}}"
    assert main(["endpoints", "test", "prod", *base, "--query", "green tea"]) == 0
    out = capsys.readouterr().out
    assert "3 hits (2 not in corpus eng)" in out and "ext-1  [not in the corpus]" in out
    assert main(["endpoints", "refresh", "prod", *base, "--queries", "set1"]) == 0
    assert "2 queries asked again" in capsys.readouterr().out
    assert (
        main(["search", *base, "--query", "green tea", "--rankers", "bm25", "endpoint:prod"]) == 0
    )
    assert "endpoint:prod" in capsys.readouterr().out
    assert main(["endpoints", "delete", "prod", *base]) == 0
    assert main(["endpoints", "list", *base]) == 0
    assert "has no endpoints" in capsys.readouterr().out


def test_cli_test_says_which_path_did_not_match(corpus, engine, tmp_path, capsys):
    toml = es_toml(engine.url + "/docs/_search", extra='[response]\nid = "doc_key"\n')
    config = write(tmp_path, toml)
    code = main(
        ["endpoints", "test", "--config", config, "--corpus", corpus.name, "--query", "tea"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "response.id = 'doc_key' matched nothing" in err and "_source" in err


# ---------------------------------------------------------------- small rules


def test_request_sizes_and_retry_after_and_scrub():
    spec = parse_spec('preset = "solr"\nurl = "http://h/select"\nmax_k = 300', "s")
    sizes = [spec.request_size(k) for k in (1, 10, 11, 100, 150, 1000)]
    assert sizes == [10, 10, 100, 100, 300, 300]  # 10, 100 or 1000, never above max_k
    assert retry_after(httpx.Response(429, headers={"Retry-After": "2.5"})) == 2.5
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after(httpx.Response(429, headers={"Retry-After": later})) <= 31
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after(httpx.Response(429)) is None
    assert scrub("key abc and abcdef", ["abc", "abcdef"]) == "key *** and ***"


def test_endpoint_results_are_pooled_and_judged_from_their_text(corpus, engine, home):
    """A pool of endpoint:NAME: documents of the corpus as their first passage, documents the
    corpus lacks with the text the engine returned (judged from it), none left out."""
    from ranklens.corpus.external_docs import passages_for
    from ranklens.judging import pooling

    add(corpus, "prod", es_toml(engine.url + "/docs/_search"))
    ranker = recipes.make_rankers(["endpoint:prod"], corpus)
    with JudgmentStore(home.db_url) as store:
        pool = pooling.make_pool(store, corpus, "set1", ranker, 3)
        items = {(i.query_id, i.passage_id) for i in pool.items}
        assert ("q1", "tea#0") in items and ("q1", "ext-2") in items and pool.left_out == 0
        shown = passages_for(corpus, ["tea#0", "ext-2"])
        assert shown["ext-2"].text.startswith("Matcha") and shown["tea#0"].doc_id == "tea"
        store.add_label(corpus.name, "ann", "q1", "ext-2", 2, doc_id="ext-2", query_set="set1")
        assert [(q.doc_id, q.relevance) for q in store.final_qrels(corpus.name)] == [("ext-2", 2)]
