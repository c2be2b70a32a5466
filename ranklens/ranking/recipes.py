"""Recipes: the parser that turns a recipe string (bm25, a model, rrf(...), wsum(...), rerank(...))
into rankers, make_ranker(s) and the recipes offered for a corpus; the syntax is in ranklens.ranking.composites.
"""

from __future__ import annotations

from collections.abc import Sequence

from ranklens import models
from ranklens.corpus import index as index_mod
from ranklens.errors import NotFoundError
from ranklens.ranking.composites import (
    FUSION_DEPTH,
    NORMS,
    RERANK_DEPTH,
    RRF_K,
    Fusion,
    Rerank,
    ScorerLoader,
)
from ranklens.ranking.endpoints import EndpointRanker, endpoint_rankers
from ranklens.ranking.imported_runs import ranker_names as run_rankers
from ranklens.ranking.rankers import (
    MAX_K,
    RankedRuns,
    Ranker,
    RankerSpecError,
    passages_per_doc,
    rank_all,
)
from ranklens.ranking.retrievers import BM25Ranker, DenseRanker, EncoderLoader, not_indexed
from ranklens.ranking.run_ranker import RunRanker
from ranklens.types import Query

EXTERNAL_KINDS = ("run", "endpoint")  # leaves named KIND:NAME (wsum weights follow a 2nd ':')


def _split_args(body: str, spec: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise RankerSpecError(f"unbalanced parentheses in {spec!r}")
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    if depth != 0:
        raise RankerSpecError(f"unbalanced parentheses in {spec!r}")
    parts.append(body[start:])
    if any(not p for p in parts):
        raise RankerSpecError(f"empty argument in {spec!r}")
    return parts


def _int_arg(value: str, what: str, spec: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise RankerSpecError(f"{what} must be an integer in {spec!r}, got {value!r}") from None


def _endpoint(corpus: index_mod.Corpus, name: str) -> Ranker:
    try:
        return EndpointRanker(corpus, name)
    except NotFoundError as exc:
        raise RankerSpecError(str(exc)) from None


class RecipeBuilder:
    """Parses recipes into rankers; leaves with one name are one shared object."""

    def __init__(
        self,
        corpus: index_mod.Corpus,
        load_encoder: EncoderLoader | None,
        load_reranker: ScorerLoader | None,
    ) -> None:
        self.corpus = corpus
        self.load_encoder = load_encoder
        self.load_reranker = load_reranker
        self.leaves: dict[str, Ranker] = {}

    def leaf(self, name: str) -> Ranker:
        if name in self.leaves:
            return self.leaves[name]
        if name.startswith("run:"):  # an imported run file (ranklens.ranking.imported_runs)
            ranker: Ranker = RunRanker(self.corpus, name.removeprefix("run:"))
        elif name == models.BM25:
            if models.BM25 not in self.corpus.models():
                raise RankerSpecError(not_indexed(self.corpus, name))
            ranker = BM25Ranker(self.corpus)
        elif name in self.corpus.dense_models():
            ranker = DenseRanker(self.corpus, name, self.load_encoder)
        elif name.startswith("endpoint:"):  # a live search endpoint of the corpus
            ranker = _endpoint(self.corpus, name.removeprefix("endpoint:"))
        elif name in self.corpus.indexes() or name in models.dense_model_names():
            raise RankerSpecError(not_indexed(self.corpus, name))
        elif name in models.reranker_names():
            raise RankerSpecError(
                f"{name} is a cross-encoder: use it as rerank(FIRST_STAGE,{name},DEPTH)"
            )
        else:
            raise RankerSpecError(
                f"unknown ranker {name!r}; available for corpus {self.corpus.name!r}: "
                f"{', '.join(self.corpus.models()) or 'none'}, or rrf(...), wsum(...), rerank(...)"
            )
        self.leaves[name] = ranker
        return ranker

    def build(self, spec: str, whole: str) -> Ranker:
        if "(" not in spec and ")" not in spec:
            return self.leaf(spec)
        head, _, rest = spec.partition("(")
        if not rest.endswith(")"):
            raise RankerSpecError(f"expected NAME(...) in {whole!r}, got {spec!r}")
        args = _split_args(rest[:-1], whole)
        if head in ("rrf", "wsum"):
            return self._fusion(head, args, whole)
        if head == "rerank":
            return self._rerank(args, whole)
        raise RankerSpecError(
            f"unknown combinator {head!r} in {whole!r}; expected rrf(...), wsum(...) or rerank(...)"
        )

    def _fusion(self, method: str, args: list[str], whole: str) -> Ranker:
        inputs: list[Ranker] = []
        weights: list[float | None] = []
        options = {"k": RRF_K, "depth": FUSION_DEPTH}
        norm = "minmax"
        for arg in args:
            key, eq, value = arg.partition("=")
            if eq and "(" not in key and key == "norm" and method == "wsum":
                if value not in NORMS:
                    raise RankerSpecError(f"norm must be minmax or z in {whole!r}, got {value!r}")
                norm = value
                continue
            if eq and "(" not in key:
                if key not in options or (key == "k" and method != "rrf"):
                    raise RankerSpecError(f"unknown option {key!r} for {method} in {whole!r}")
                options[key] = _int_arg(value, key, whole)
                continue
            weight = None
            external = arg.partition(":")[0] in EXTERNAL_KINDS and arg.count(":") == 1
            if method == "wsum" and ":" in arg and not arg.endswith(")") and not external:
                name, _, w = arg.rpartition(":")
                try:
                    weight = float(w)
                except ValueError:
                    raise RankerSpecError(
                        f"weight must be a number in {whole!r}, got {w!r}"
                    ) from None
                arg = name
            inputs.append(self.build(arg, whole))
            weights.append(weight)
        given = [w for w in weights if w is not None]
        if given and len(given) != len(weights):
            raise RankerSpecError(f"give a weight for every input of wsum or for none: {whole!r}")
        return Fusion(
            inputs,
            method,
            [float(w) for w in given] if given else None,
            rrf_k=options["k"],
            depth=options["depth"],
            norm=norm,
        )

    def _rerank(self, args: list[str], whole: str) -> Ranker:
        if len(args) not in (2, 3):
            raise RankerSpecError(
                f"expected rerank(FIRST_STAGE,CROSS_ENCODER[,DEPTH]) in {whole!r}"
            )
        depth = RERANK_DEPTH
        if len(args) == 3:
            value = args[2].removeprefix("depth=")
            depth = _int_arg(value, "depth", whole)
            if not 1 <= depth <= MAX_K:
                raise RankerSpecError(f"rerank depth must be from 1 to {MAX_K} in {whole!r}")
        first = self.build(args[0], whole)
        if args[1] in ("llm", "llm-pairwise"):  # the LLM judge's endpoint as a reranker
            from ranklens.ranking import llm_rerank

            return llm_rerank.LLMRerank(first, self.corpus, args[1], depth)
        return Rerank(first, self.corpus, args[1], depth, self.load_reranker)


# ---------------------------------------------------------------- making rankers from recipes


def make_ranker(
    spec: str,
    corpus: index_mod.Corpus,
    load_encoder: EncoderLoader | None = None,
    load_reranker: ScorerLoader | None = None,
) -> Ranker:
    """A ranker from its recipe (see the module docstring); its .name is the canonical recipe.

    Models load lazily, at the first rank() call, through the loaders given (by default
    ranklens.models.load_encoder / load_reranker, which keep one instance per process).
    """
    text = "".join((spec or "").split())
    if not text:
        raise RankerSpecError("empty ranker name")
    return RecipeBuilder(corpus, load_encoder, load_reranker).build(text, text)


def make_rankers(
    specs: Sequence[str],
    corpus: index_mod.Corpus,
    load_encoder: EncoderLoader | None = None,
    load_reranker: ScorerLoader | None = None,
) -> list[Ranker]:
    """Several rankers from recipes; leaves with the same name are one shared object."""
    builder = RecipeBuilder(corpus, load_encoder, load_reranker)
    out = []
    for spec in specs:
        text = "".join((spec or "").split())
        if not text:
            raise RankerSpecError("empty ranker name")
        out.append(builder.build(text, text))
    return out


def available_rankers(corpus: index_mod.Corpus) -> list[str]:
    """Recipes to offer for a corpus: its indexes, then fusions and reranking built from them."""
    leaves = corpus.models()
    out = list(leaves)
    dense = corpus.dense_models()
    if models.BM25 in leaves:
        out += [f"rrf({models.BM25},{d})" for d in dense]
    if len(dense) >= 2:
        out.append(f"rrf({','.join(dense)})")
    if leaves:
        for r in models.reranker_names():
            out.append(f"rerank({leaves[0]},{r},50)")
        if corpus.settings.llm_url and corpus.settings.llm_model:  # the LLM judge's endpoint
            out += [f"rerank({leaves[0]},llm,20)", f"rerank({leaves[0]},llm-pairwise,10)"]
    return out + run_rankers(corpus) + endpoint_rankers(corpus)


def default_rankers(corpus: index_mod.Corpus) -> list[str]:
    """The recipes every page and command uses unless told otherwise: the corpus's first two
    complete indexes (bm25 first, then dense models by name) and the first fusion of them;
    when the corpus has no complete index, the first recipe offered (an imported run, say)."""
    options = available_rankers(corpus)
    fused = [o for o in options if o.startswith("rrf(")]
    return (corpus.models()[:2] + fused[:1]) or options[:1]


def rank_corpus(
    corpus: index_mod.Corpus,
    specs: Sequence[str | Ranker],
    queries: Sequence[Query],
    k: int,
    level: str = "passage",
    load_encoder: EncoderLoader | None = None,
    load_reranker: ScorerLoader | None = None,
) -> RankedRuns:
    """Rank the queries over a corpus: recipes are made into rankers (rankers already made are
    used as they are), then rank_all at `level` with the corpus's passages per document. The one
    call the pages, the CLI, jobs, tuning, lessons and classes rank a corpus with."""
    recipes = [s for s in specs if isinstance(s, str)]
    made = iter(make_rankers(recipes, corpus, load_encoder, load_reranker) if recipes else [])
    chosen = [next(made) if isinstance(s, str) else s for s in specs]
    per_doc = passages_per_doc(corpus)
    return rank_all(chosen, queries, k, level=level, passages_per_doc=per_doc)
