"""Evaluation exports: plotly figures, display tables, TREC run files, per-query CSV, HTML report.

Pure functions over what ranklens.evaluation.measures returns; the Evaluate page and the CLI both call them.
"""

from __future__ import annotations

import html
import io
import math
import numbers
import string
import time
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ranklens.corpus.trec_files import run_file_name, run_file_text
from ranklens.evaluation import measures as ev
from ranklens.evaluation import stats
from ranklens.evaluation.measure_texts import explain_measure
from ranklens.types import Run

__all__ = [
    "GAIN_NOTE",
    "UNJUDGED_NOTE",
    "runs_zip",
    "per_query_wide",
    "per_query_csv",
    "ranker_letters",
    "significance_marks",
    "summary_display",
    "condensed_shift",
    "summary_figure",
    "difference_figure",
    "curve_figure",
    "pvalue_figure",
    "html_report",
]

GAIN_NOTE = (
    "nDCG gain: the relevance grade itself (trec_eval's rule), discounted by log2(rank + 1); "
    "grades of 0 or below and unjudged results give no gain."
)
UNJUDGED_NOTE = (
    "Unjudged results count as not relevant, unless condensed lists are on (then they are "
    "removed before scoring). Only queries with at least one label are evaluated."
)


def _e(value: object) -> str:
    """Text made safe for HTML and for plotly's pseudo-HTML labels."""
    return html.escape(str(value), quote=True)


# --------------------------------------------------------------------------------------------
# Run files and CSV


def runs_zip(runs: Mapping[str, Run], level: str = "doc") -> bytes:
    """Every ranker's TREC run file in one zip (file names from run_file_name)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, run in runs.items():
            zf.writestr(run_file_name(name), run_file_text(run, name, level))
    return buf.getvalue()


def per_query_wide(per_query: pd.DataFrame) -> pd.DataFrame:
    """Columns ``query_id, ranker`` and one column per measure (in the order measured)."""
    if per_query.empty:
        return pd.DataFrame(columns=["query_id", "ranker"])
    measures = list(dict.fromkeys(per_query["measure"]))
    rankers = list(dict.fromkeys(per_query["ranker"]))
    queries = list(dict.fromkeys(per_query["query_id"]))
    wide = per_query.pivot_table(
        index=["query_id", "ranker"], columns="measure", values="value", aggfunc="first"
    )
    order = pd.MultiIndex.from_product([queries, rankers], names=["query_id", "ranker"])
    wide = wide.reindex(index=order.intersection(wide.index, sort=False), columns=measures)
    wide.columns.name = None
    return wide.reset_index()


def per_query_csv(per_query: pd.DataFrame) -> str:
    """Per-query values as CSV: ``query_id, ranker, <measure>...`` (full float precision)."""
    return per_query_wide(per_query).to_csv(index=False)


# --------------------------------------------------------------------------------------------
# Display tables


def ranker_letters(rankers: Sequence[str]) -> dict[str, str]:
    """Short keys a, b, c, ... (then aa, ab, ...) for rankers, used to mark significance."""
    letters = string.ascii_lowercase
    out = {}
    for i, r in enumerate(rankers):
        out[r] = letters[i] if i < 26 else letters[i // 26 - 1] + letters[i % 26]
    return out


def significance_marks(pairs: pd.DataFrame, letters: Mapping[str, str]) -> dict[str, list[str]]:
    """For each ranker, the letters of the rankers it is significantly better than."""
    out: dict[str, list[str]] = {r: [] for r in letters}
    if pairs is None or pairs.empty:
        return out
    for a, b, diff, sig in zip(
        pairs["ranker_a"], pairs["ranker_b"], pairs["diff"], pairs["significant"], strict=True
    ):
        if not sig or diff == 0 or math.isnan(diff):
            continue
        win, lose = (a, b) if diff > 0 else (b, a)
        if win in out and lose in letters:
            out[win].append(letters[lose])
    return {r: sorted(v) for r, v in out.items()}


def _fmt(x: float, digits: int) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def summary_display(
    summ: pd.DataFrame,
    significance: Mapping[str, pd.DataFrame] | None = None,
    digits: int = 3,
    letters: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A table to read: a row per ranker, per measure "mean [ci_low, ci_high] ▲b c".

    ``▲b c`` says the ranker is significantly better than rankers b and c on that measure
    (from pairwise_significance, Holm-corrected). The first column is each ranker's letter.
    """
    if summ.empty:
        return pd.DataFrame(columns=["key", "ranker"])
    rankers = list(dict.fromkeys(summ["ranker"]))
    measures = list(dict.fromkeys(summ["measure"]))
    letters = dict(letters or ranker_letters(rankers))
    marks = {
        m: significance_marks(significance[m], letters)
        for m in measures
        if significance and m in significance
    }
    rows = []
    for r in rankers:
        row: dict[str, Any] = {"key": letters.get(r, ""), "ranker": r}
        for m in measures:
            sel = summ[(summ["ranker"] == r) & (summ["measure"] == m)]
            if sel.empty:
                row[m] = ""
                continue
            s = sel.iloc[0]
            cell = f"{_fmt(s['mean'], digits)} [{_fmt(s['ci_low'], digits)}, "
            cell += f"{_fmt(s['ci_high'], digits)}]"
            better = marks.get(m, {}).get(r)
            if better:
                cell += " ▲" + " ".join(better)
            row[m] = cell
        rows.append(row)
    return pd.DataFrame(rows)


def condensed_shift(plain: pd.DataFrame, condensed: pd.DataFrame) -> pd.DataFrame:
    """How much condensed lists move each mean: ``ranker, measure, plain, condensed, change``."""
    a = ev.mean_scores(plain)
    b = ev.mean_scores(condensed)
    rows = []
    for r, by_m in a.items():
        for m, v in by_m.items():
            c = b.get(r, {}).get(m, float("nan"))
            rows.append([r, m, v, c, c - v])
    return pd.DataFrame(rows, columns=["ranker", "measure", "plain", "condensed", "change"])


# --------------------------------------------------------------------------------------------
# Figures


def summary_figure(summ: pd.DataFrame, title: str = "") -> go.Figure:
    """Grouped bars: a group per measure, a bar per ranker, error bars = the confidence interval."""
    fig = go.Figure()
    measures = list(dict.fromkeys(summ["measure"])) if not summ.empty else []
    for ranker in dict.fromkeys(summ["ranker"]) if not summ.empty else []:
        sub = summ[summ["ranker"] == ranker].set_index("measure").reindex(measures)
        mean = sub["mean"].astype(float)
        fig.add_bar(
            name=_e(ranker),
            x=[_e(m) for m in measures],
            y=mean.tolist(),
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (sub["ci_high"].astype(float) - mean).fillna(0).tolist(),
                "arrayminus": (mean - sub["ci_low"].astype(float)).fillna(0).tolist(),
            },
            customdata=sub[["ci_low", "ci_high", "n"]].to_numpy().tolist(),
            hovertemplate=(
                "%{x}: %{y:.3f}<br>95% CI [%{customdata[0]:.3f}, %{customdata[1]:.3f}]"
                "<br>%{customdata[2]} queries<extra>%{fullData.name}</extra>"
            ),
        )
    fig.update_layout(
        barmode="group",
        title=_e(title) if title else None,
        yaxis_title="mean over queries (bars: 95% bootstrap interval)",
        legend_title="ranker",
        margin={"t": 40 if title else 20, "b": 40},
        height=420,
    )
    return fig


def difference_figure(diffs: pd.DataFrame, a: str, b: str, measure: str) -> go.Figure:
    """Per-query a - b, sorted (TREC style): bars above zero are queries where a wins."""
    d = diffs["diff"].astype(float)
    colours = ["#2b8a3e" if v > 0 else "#c92a2a" if v < 0 else "#868e96" for v in d]
    fig = go.Figure(
        go.Bar(
            x=[_e(q) for q in diffs["query_id"]],
            y=d.tolist(),
            marker_color=colours,
            customdata=diffs[[a, b]].to_numpy().tolist(),
            hovertemplate=(
                "query %{x}<br>difference %{y:.3f}<br>"
                + _e(a)
                + ": %{customdata[0]:.3f}<br>"
                + _e(b)
                + ": %{customdata[1]:.3f}<extra></extra>"
            ),
        )
    )
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    fig.update_layout(
        title={
            "text": _e(f"{measure}: {a} minus {b}, per query")
            + "<br><sup>"
            + _e(f"{a} better on {wins}, {b} better on {losses}, {len(d) - wins - losses} tied")
            + "</sup>"
        },
        xaxis={
            "title": "query (sorted by difference)",
            "type": "category",
            "showticklabels": len(d) <= 60,
        },
        yaxis_title=_e(f"{measure} difference"),
        margin={"t": 70, "b": 40},
        height=400,
        showlegend=False,
    )
    return fig


def curve_figure(curve: pd.DataFrame, base: str = "nDCG") -> go.Figure:
    """Mean base@k against k, a line per ranker (from evaluate.metric_at_k_curve)."""
    fig = go.Figure()
    for ranker in dict.fromkeys(curve["ranker"]):
        sub = curve[curve["ranker"] == ranker]
        fig.add_scatter(
            x=sub["k"].tolist(),
            y=sub["value"].astype(float).tolist(),
            mode="lines",
            name=_e(ranker),
            hovertemplate=f"{_e(base)}@%{{x}}: %{{y:.3f}}<extra>%{{fullData.name}}</extra>",
        )
    fig.update_layout(
        xaxis_title="k (cutoff)",
        yaxis_title=_e(f"mean {base}@k"),
        legend_title="ranker",
        margin={"t": 20, "b": 40},
        height=380,
    )
    return fig


P_RAW = "p (raw)"
P_HOLM = "p (Holm-adjusted)"


def without_negative_zero(df: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Numbers that would show as -0.0000 at `digits` decimals become 0 (a copy)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].mask(out[c].abs() < 0.5 * 10**-digits, 0.0)
    return out


def significance_display(pairs: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Pairwise tests to read: each p-value named raw or Holm-adjusted, no -0.0000."""
    return without_negative_zero(pairs, digits).rename(columns={"p": P_RAW, "p_holm": P_HOLM})


def pvalue_figure(matrix: pd.DataFrame, alpha: float = 0.05, title: str = "") -> go.Figure:
    """A heat map of Holm-adjusted p-values; cells below alpha are marked with a star."""
    names = [_e(n) for n in matrix.index]
    z = matrix.to_numpy(dtype=float)
    text = [
        ["" if math.isnan(v) else f"{v:.3g}{' *' if v < alpha else ''}" for v in row] for row in z
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            text=text,
            texttemplate="%{text}",
            zmin=0,
            zmax=1,
            colorscale=[[0, "#1c7ed6"], [min(alpha * 2, 1.0), "#d0ebff"], [1, "#f8f9fa"]],
            colorbar={"title": "Holm-<br>adjusted p"},
            hovertemplate="%{y} vs %{x}: Holm-adjusted p = %{z:.4g}<extra></extra>",
        )
    )
    fig.update_layout(
        title=_e(title) if title else None,
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"automargin": True, "tickangle": -30},
        margin={"t": 40 if title else 20, "b": 40, "l": 10, "r": 10},
        height=160 + 60 * len(names),
    )
    return fig


# --------------------------------------------------------------------------------------------
# The HTML report


def _markdown_to_html(text: str) -> str:
    """Markdown to HTML with raw HTML disabled (it is shown escaped)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).render(text)


def _table(df: pd.DataFrame, digits: int = 4, cls: str = "") -> str:
    """An HTML table; every header and cell is escaped."""
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for v in rec:
            if isinstance(v, bool | np.bool_):
                cells.append(f"<td>{'yes' if v else 'no'}</td>")
            elif isinstance(v, numbers.Integral):
                cells.append(f'<td class="num">{int(v)}</td>')
            elif isinstance(v, numbers.Real):
                cells.append(f'<td class="num">{_e(_fmt(float(v), digits))}</td>')
            else:
                cells.append(f"<td>{_e(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="{_e(cls)}"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#212529}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #dee2e6}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #dee2e6;padding:.25rem .5rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f1f3f5}
.warn{background:#fff3bf;border-left:4px solid #f59f00;padding:.5rem .75rem;margin:.5rem 0}
.note{color:#495057;font-size:.9rem}.side{display:flex;gap:2rem;flex-wrap:wrap}
details{margin:.25rem 0}
"""


def html_report(
    per_query: pd.DataFrame,
    *,
    title: str = "RankLens evaluation",
    context: Mapping[str, object] | None = None,
    significance: Mapping[str, pd.DataFrame] | None = None,
    test: str = "randomization",
    alpha: float = 0.05,
    judged: Mapping[str, float] | None = None,
    judged_k: int = 10,
    curve: pd.DataFrame | None = None,
    curve_base: str = "nDCG",
    differences: tuple[str, str, str] | None = None,
    condensed: pd.DataFrame | None = None,
    discriminative: stats.DiscriminativePower | None = None,
    confidence: float = 0.95,
) -> str:
    """A self-contained HTML report (plotly.js inlined once; works offline, no requests).

    ``per_query`` is evaluate_runs' long table; ``significance`` maps a measure to its
    pairwise_significance table; ``differences`` is (measure, ranker a, ranker b) for the per-query
    difference plot; ``condensed`` is condensed_shift's table; ``curve`` metric_at_k_curve's.
    Every piece of text from the data (ranker names, query ids, context values) is escaped.
    """
    parts: list[str] = []
    first_fig = True

    def fig_html(fig: go.Figure) -> str:
        nonlocal first_fig
        # a fixed template: the default one may be the host app's (Streamlit sets its own)
        fig.update_layout(template="plotly_white")
        out = fig.to_html(
            full_html=False,
            include_plotlyjs="inline" if first_fig else False,
            config={"displaylogo": False},
        )
        first_fig = False
        return out

    summ = stats.summary(per_query, confidence)
    rankers = list(dict.fromkeys(per_query["ranker"])) if not per_query.empty else []
    measures = list(dict.fromkeys(per_query["measure"])) if not per_query.empty else []
    n_queries = per_query["query_id"].nunique() if not per_query.empty else 0
    parts.append(f"<h1>{_e(title)}</h1>")
    ctx = dict(context or {})
    ctx.setdefault("labelled queries evaluated", n_queries)
    ctx.setdefault("generated", time.strftime("%Y-%m-%d %H:%M:%S %z"))
    parts.append(
        _table(pd.DataFrame({"setting": list(ctx), "value": [str(v) for v in ctx.values()]}))
    )
    parts.append(f'<p class="note">{_e(GAIN_NOTE)} {_e(UNJUDGED_NOTE)}</p>')

    if judged:
        parts.append(f"<h2>Judged@{judged_k}</h2>")
        jt = pd.DataFrame(
            {"ranker": list(judged), f"Judged@{judged_k}": [float(v) for v in judged.values()]}
        )
        parts.append(_table(jt, 3))
        for w in ev.judged_warnings(judged, k=judged_k):
            parts.append(f'<div class="warn">{_e(w)}</div>')

    parts.append("<h2>Summary</h2>")
    if summ.empty:
        parts.append("<p>No labelled query: nothing to evaluate.</p>")
    else:
        parts.append(
            f'<p class="note">Mean over queries [{_e(stats.interval_name(confidence))}]. '
            f"▲b c: significantly better than rankers b and c ({_e(test)} test, Holm-corrected "
            f"across all pairs, alpha = {alpha:g}).</p>"
        )
        parts.append(_table(summary_display(summ, significance)))
        parts.append(fig_html(summary_figure(summ)))

    if condensed is not None and not condensed.empty:
        parts.append("<h2>Condensed lists</h2>")
        parts.append(
            '<p class="note">The same measures with unjudged results removed before scoring; '
            "change = condensed minus plain.</p>"
        )
        parts.append(_table(condensed))

    if significance:
        parts.append("<h2>Significance</h2>")
        for m, pairs in significance.items():
            if pairs.empty:
                continue
            parts.append(f"<h3>{_e(m)}</h3>")
            matrix = stats.significance_matrix(pairs)
            heat = pvalue_figure(matrix, alpha)
            heat.update_layout(width=320 + 110 * len(matrix))
            parts.append(fig_html(heat))
            parts.append(_table(significance_display(pairs)))

    if rankers and measures:
        parts.append("<h2>Ranking the rankers</h2><div class='side'>")
        by_mean = stats.rank_by_mean(per_query, measures[0])
        parts.append(f"<div><h3>By mean {_e(measures[0])}</h3>{_table(by_mean)}</div>")
        parts.append(
            "<div><h3>By Borda count (all queries and measures)</h3>"
            f"{_table(stats.borda(per_query))}</div></div>"
        )

    if discriminative is not None:
        d = discriminative
        parts.append("<h2>Discriminative power</h2>")
        rate = d.survival_rate
        parts.append(
            f"<p>{d.significant_full} significant pair(s) on {_e(d.measure)} with all labels; "
            f"keeping {d.fraction:.0%} of the {_e(d.unit)}s, {d.repeats} times: "
            f"{'n/a' if math.isnan(rate) else f'{rate:.0%}'} of them stay significant.</p>"
        )
        parts.append(_table(d.pairs))

    if differences is not None:
        m, a, b = differences
        parts.append(f"<h2>Per-query differences: {_e(a)} vs {_e(b)} ({_e(m)})</h2>")
        parts.append(
            fig_html(difference_figure(ev.per_query_differences(per_query, m, a, b), a, b, m))
        )

    if curve is not None and not curve.empty:
        parts.append(f"<h2>{_e(curve_base)}@k for k = 1..{int(curve['k'].max())}</h2>")
        parts.append(fig_html(curve_figure(curve, curve_base)))

    if measures:
        parts.append("<h2>How each measure is computed</h2>")
        for m in measures:
            parts.append(
                f"<details><summary>{_e(m)}</summary>{_markdown_to_html(explain_measure(m))}</details>"
            )

    if not per_query.empty:
        parts.append("<h2>Per-query values</h2>")
        parts.append(_table(per_query_wide(per_query)))

    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>"
    )
