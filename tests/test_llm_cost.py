"""The LLM batch's cost: tokens estimated before it (dry run) and counted after, priced per
million tokens; unit tests against a hand computation, the CLI against the chat stub."""

from __future__ import annotations

import json

import pytest

from ranklens.errors import RankLensError
from ranklens.llm.cost import CHARS_PER_TOKEN, Price, estimate, parse_price, spent_text
from ranklens.llm.judge import LLMConfig, LLMJudge
from ranklens.llm.prompt import Prompt
from ranklens.llm.reports import DryRunItem, JudgePair, Judgment
from ranklens.scale import Scale

from .test_judges import cli_env  # noqa: F401 - the CLI's store, pool and stub endpoint
from .test_llm_judge import KEY, server  # noqa: F401


def test_parse_price_and_cost() -> None:
    assert parse_price("0.15/0.60") == Price(0.15, 0.60)
    assert parse_price("2") == Price(2.0, 2.0) and parse_price("") is None
    assert Price(0.15, 0.60).cost(1_000_000, 500_000) == pytest.approx(0.45)
    for bad in ("cheap", "-1", "1/2/3"):
        with pytest.raises(RankLensError, match="per million"):
            parse_price(bad)


def test_estimate_from_characters_or_the_dry_runs_counts() -> None:
    pairs = [JudgePair("q", "query", f"p{i}", "d", "passage text " * i) for i in range(1, 4)]
    cfg = LLMConfig(url="http://127.0.0.1:9/v1", model="m", max_tokens=50)
    with LLMJudge(cfg, Scale.default(), Prompt()) as judge:
        chars = sum(len(judge.prompt.render(p.query, p.passage)) for p in pairs)
        est = estimate(judge, pairs)
        assert est.pairs == 3 and est.completion_tokens == 150
        assert est.prompt_tokens == round(chars / CHARS_PER_TOKEN)
        # a dry run whose server reported 100 prompt tokens for a 300-character prompt
        j = Judgment(pairs[0], 1, 1, "r", None, 100, 5, False, "text")
        est = estimate(judge, pairs, [DryRunItem("x" * 300, j)])
        assert est.prompt_tokens == round(chars / 3.0) and "3.0 characters a token" in est.basis
        assert "at most about $" in est.text(Price(1.0, 2.0))
        expected = Price(1.0, 2.0).cost(est.prompt_tokens, 150)
        assert f"${expected:.4f}" in est.text(Price(1.0, 2.0))


def test_cli_dry_run_estimates_and_the_batch_reports_its_cost(cli_env, capsys) -> None:  # noqa: F811
    from ranklens.cli import main

    base = ["judgments", "suggest", "--corpus", "c", "--queries", "set", "--judge", "llm"]
    assert main([*base, "--dry-run", "2", "--price", "1/2", "--max-tokens", "30"]) == 0
    err = capsys.readouterr().err
    # 4 pool items, 2 cached by the dry run: 2 to send, at most 2 x 30 completion tokens
    assert "2 pairs to send (2 cached)" in err and "at most 60 completion tokens" in err
    assert "as the dry run's replies reported" in err and "$1 / $2 per million" in err
    assert main([*base, "--json", "--price", "1/2"]) == 0
    data = json.loads(capsys.readouterr().out)
    tokens = data["tokens"]
    assert data["cost"] == pytest.approx((tokens["prompt"] * 1 + tokens["completion"] * 2) / 1e6)
    assert KEY not in json.dumps(data)


def test_spent_text_without_counts_does_not_guess() -> None:
    from ranklens.llm.reports import BatchReport

    assert "not known" in spent_text(BatchReport("m", "h", 0), Price(1, 1))
    rep = BatchReport("m", "h", 1, prompt_tokens=10, completion_tokens=5, tokens_reported=True)
    assert "= $0.0000 at" in spent_text(rep, Price(1, 1)) and "10 prompt" in spent_text(rep)
