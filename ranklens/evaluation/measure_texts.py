"""How each measure's number is computed, in words: a short Markdown text per ir_measures measure
(gain, discount, cut-off, what unjudged results count as), for the pages, the report and the Learn page.
"""

from __future__ import annotations

from typing import Any

from ranklens.evaluation.measures import parse_measures


def _cut(measure: Any) -> int | None:
    c = measure.params.get("cutoff")
    return c if isinstance(c, int) else None


def _rel(measure: Any) -> int:
    r = measure.params.get("rel")
    return r if isinstance(r, int) else 1


def explain_measure(measure_name: str) -> str:
    """A short Markdown explanation of how the named measure's number is computed."""
    spec = parse_measures([measure_name])[0]
    m = spec.measure
    name = spec.name
    k = _cut(m)
    rel = _rel(m)
    top = f"the top {k}" if k else "the whole ranking"
    relevant = f"grade >= {rel}"
    unjudged = (
        "Unjudged results count as not relevant (grade 0), unless condensed lists are on: then "
        "they are removed before scoring. The number shown is the mean over the queries that have "
        "labels; a labelled query the ranker returned nothing for scores 0."
    )
    kind = m.NAME
    if kind == "nDCG":
        kk = k if k else "n"
        body = (
            f"**{name}**: normalised discounted cumulative gain over {top}.\n\n"
            "- **Gain** of a result = its relevance grade itself (trec_eval's rule): grade 2 "
            "gives 2; grade 0, negative grades and unjudged results give 0.\n"
            "- **Discount**: the result at rank i is divided by log2(i + 1) (rank 1: 1, rank 2: "
            "1.585, rank 3: 2, ...).\n"
            f"- DCG@{kk} = sum over i = 1..{kk} of gain_i / log2(i + 1).\n"
            f"- **Ideal** DCG@{kk}: the same sum for the query's labelled results sorted by grade, "
            "best first (the best possible ranking); it comes from the qrels, not from what the "
            "ranker retrieved.\n"
            f"- nDCG@{kk} = DCG / ideal DCG, between 0 and 1; 0 when the query has no label above 0."
        )
    elif kind == "P":
        body = (
            f"**{name}**: precision at {k}.\n\n"
            f"- Count the results in the top {k} with {relevant}, and divide by {k}.\n"
            f"- The divisor is always {k}, even when the ranker returned fewer results (trec_eval)."
        )
    elif kind == "R":
        body = (
            f"**{name}**: recall at {k}.\n\n"
            f"- The relevant results ({relevant}) in the top {k}, divided by the number of "
            "relevant labels the query has in the qrels.\n"
            "- 0 when the query has no relevant label."
        )
    elif kind == "AP":
        body = (
            f"**{name}**: average precision{' cut at ' + str(k) if k else ''}.\n\n"
            f"- At each rank i{' <= ' + str(k) if k else ''} holding a relevant result "
            f"({relevant}), take the precision of the first i results.\n"
            "- Sum those precisions and divide by the number of relevant labels the query has in "
            "the qrels (relevant documents never retrieved add 0).\n"
            "- Its mean over queries is MAP."
        )
    elif kind == "RR":
        body = (
            f"**{name}**: reciprocal rank.\n\n"
            f"- 1 / rank of the first relevant result ({relevant}) in {top}; 0 if there is none.\n"
            "- Its mean over queries is MRR."
        )
    elif kind == "Judged":
        body = (
            f"**{name}**: the share of {top} that carries a label (any grade, 0 included).\n\n"
            f"- Divided by {'min(' + str(k) + ', number returned)' if k else 'the number returned'} "
            "(ir_measures' rule).\n"
            "- It measures the labels, not the ranker: below 0.8, the other measures may "
            "underestimate this ranker, because unjudged results count as not relevant."
        )
        unjudged = "The number shown is the mean over the queries that have labels."
    else:
        desc = getattr(m, "SHORT_DESC", "") or (type(m).__doc__ or "").strip().split("\n")[0]
        body = f"**{name}** ({getattr(m, 'PRETTY_NAME', kind)}): {desc}\n\nComputed by ir_measures."
    if kind in ("P", "R", "AP", "RR") and rel != 1:
        body += (
            f"\n- Graded threshold: only grades >= {rel} count as relevant here; lower grades "
            "count as not relevant."
        )
    return body + "\n\n" + unjudged
