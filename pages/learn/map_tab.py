"""Learn page, tab "Embedding map": a 2-D PCA map of the passages as each dense model sees them,
the query and its top k marked, points coloured by label, text on hover; two models side by side.

The maps are ranklens.teaching.projection; this module draws them with plotly.
"""

from __future__ import annotations

import html
import textwrap

import plotly.graph_objects as go
import streamlit as st

from components import resources, safe, state
from pages.learn.explain_tab import pick_query
from ranklens.corpus.index import Corpus
from ranklens.errors import RankLensError
from ranklens.ranking.recipes import rank_corpus
from ranklens.scale import Scale
from ranklens.teaching import projection
from ranklens.types import Query

HOVER_CHARS = 160
UNJUDGED_COLOUR = "#cfd8dc"
TOP_COLOUR = "#1565c0"
QUERY_COLOUR = "#d81b60"
WEBGL_FROM = 2000  # more points than this are drawn with WebGL (scattergl), fewer as SVG


@st.cache_resource(show_spinner="Projecting the passages (PCA)…", max_entries=6)
def _projection(corpus_name: str, version: str, model: str, count: int) -> projection.Projection:
    return projection.fit(resources.open_corpus(corpus_name), model)


def hover(title: str, snippet: str) -> str:
    """Hover text for plotly, which reads a few HTML tags: the corpus's text escaped first."""
    body = "<br>".join(textwrap.wrap(html.escape(snippet[:HOVER_CHARS]), 60))
    return f"<b>{html.escape(title)}</b><br>{body}"


def figure(m: projection.EmbeddingMap, scale: Scale) -> go.Figure:
    """The map as a plotly figure: background by label, the top k ringed and numbered, the query."""
    colours = {str(g.value): g.colour for g in scale.grades}
    names = {str(g.value): f"{g.value} {html.escape(g.label)}" for g in scale.grades}
    fig = go.Figure()
    groups: dict[str, list[projection.Point]] = {}
    for p in m.points:
        groups.setdefault(p.label, []).append(p)
    order = [projection.UNJUDGED, *sorted(k for k in groups if k != projection.UNJUDGED)]
    scatter = go.Scattergl if len(m.points) > WEBGL_FROM else go.Scatter
    for label in [g for g in order if g in groups]:
        pts = groups[label]
        judged = label != projection.UNJUDGED
        fig.add_trace(
            scatter(
                x=[p.x for p in pts],
                y=[p.y for p in pts],
                mode="markers",
                name=names.get(label, f"grade {label}") if judged else "unjudged",
                marker={
                    "size": 9 if judged else 5,
                    "color": colours.get(label, "#455a64") if judged else UNJUDGED_COLOUR,
                    "opacity": 1.0 if judged else 0.55,
                    "line": {"width": 1, "color": "#263238"} if judged else {"width": 0},
                },
                text=[hover(p.title, p.snippet) for p in pts],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    top = sorted((p for p in m.points if p.rank is not None), key=lambda p: p.rank)
    if top:
        fig.add_trace(
            go.Scatter(
                x=[p.x for p in top],
                y=[p.y for p in top],
                mode="markers+text",
                name=f"top {len(top)}",
                text=[str(p.rank) for p in top],
                textposition="top center",
                marker={
                    "size": 14,
                    "color": "rgba(0,0,0,0)",
                    "line": {"width": 2, "color": TOP_COLOUR},
                },
                customdata=[hover(p.title, p.snippet) for p in top],
                hovertemplate="rank %{text}<br>%{customdata}<extra></extra>",
            )
        )
    if m.query_xy is not None:
        fig.add_trace(
            go.Scatter(
                x=[m.query_xy[0]],
                y=[m.query_xy[1]],
                mode="markers",
                name="query",
                marker={"size": 18, "symbol": "star", "color": QUERY_COLOUR},
                hovertemplate="the query<extra></extra>",
            )
        )
    ex = m.explained
    fig.update_layout(
        template="plotly_white",
        height=520,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title={"text": html.escape(m.model), "font": {"size": 14}},
        xaxis_title=f"PC1 ({ex[0]:.1%} of the variance)",
        yaxis_title=f"PC2 ({ex[1]:.1%})",
        legend={"orientation": "h", "y": -0.12},
    )
    return fig


def render(corpus: Corpus, qrels_of, scale: Scale) -> None:
    """qrels_of(query_id) -> the query's labels (document level)."""
    dense = corpus.dense_models()
    if not dense:
        st.info("This corpus has no dense model: add one on the Corpus page to map its passages.")
        return
    st.write(
        "Each dense model places every passage in its own space of a few hundred dimensions; "
        "PCA (principal component analysis) flattens that space onto the two directions "
        "along which the passages differ most. Near on the map usually means near to the model, "
        "but two dimensions keep only part of the picture (see the share of the variance on the axes)."
    )
    query = pick_query(corpus)
    c1, c2 = st.columns([3, 1])
    if state.LEARN_MAP_MODELS not in st.session_state:
        st.session_state[state.LEARN_MAP_MODELS] = dense[:2]
    chosen = c1.multiselect(
        "Models (two side by side)", dense, key=state.LEARN_MAP_MODELS, max_selections=2
    )
    k = int(c2.number_input("Top k marked", 1, 50, value=10, key=state.LEARN_MAP_K))
    if len(dense) == 1:
        st.caption(
            f"Only {safe.md(dense[0])} is indexed for this corpus. To see two models side by side, add "
            "a second dense model on the Corpus page (Add models: e.g. bge-small-en-v1.5), "
            f"or from the CLI: python -m ranklens ingest --corpus {safe.md(corpus.name)} --models "
            "bge-small-en-v1.5."
        )
    if not chosen:
        st.info("Choose a dense model.")
        return
    grades = {q.doc_id: q.relevance for q in qrels_of(query.query_id)} if query else {}
    cols = st.columns(len(chosen))
    for col, model in zip(cols, chosen, strict=True):
        with col:
            _one_map(corpus, model, query, k, grades, scale)


def _one_map(
    corpus: Corpus, model: str, query: Query | None, k: int, grades: dict, scale: Scale
) -> None:
    try:
        pr = _projection(corpus.name, corpus.version(), model, corpus.passages)
        top: list[str] = []
        if query is not None:
            ranked = rank_corpus(corpus, [model], [query], k, "passage", resources.encoder)
            top = [h.passage_id for h in next(iter(ranked.runs.values()))[query.query_id]]
        m = projection.embedding_map(
            pr, corpus, query, top, grades, level="doc", load_encoder=resources.encoder
        )
    except RankLensError as exc:
        st.error(safe.error(exc))
        return
    st.plotly_chart(figure(m, scale), width="stretch", key=f"rl_learn_map_{model}")
    labelled = sum(1 for p in m.points if p.label != projection.UNJUDGED)
    st.caption(
        f"{m.rule}. Marked: the query (star), its top {len(top)} by {safe.md(model)} (numbered "
        "rings), "
        f"{labelled} passages of labelled documents (coloured by grade)."
    )
