"""Build the bundled demo (data/demo: corpus.jsonl, queries.jsonl, qrels/faq.tsv) from Python's docs.

Sources: the pydoc topics (pydoc_data.topics), standard-library docstrings, and the Python FAQ
(html/faq/*.html of Debian's python3.11-doc package, read with html.parser); PSF licence.
Each FAQ answer is a document, its question a query of the set `faq`, labelled with the top
grade of the default scale (known-item labels). demo-queries.jsonl is written by hand.

    apt-get install python3.11-doc           # only to build the demo; the app never needs it
    .venv/bin/python data/build_demo.py      # CPython 3.11.7 on Linux for the committed files

The output depends only on the Python version and platform (docstrings and module contents
differ between versions and operating systems) and on the FAQ pages, never on the order of dict
iteration or on memory addresses. It prints document, word, estimated-passage and byte counts.
"""

from __future__ import annotations

import argparse
import builtins
import importlib
import inspect
import json
import math
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from pydoc_data.topics import topics as PYDOC_TOPICS

OUT_DIR = Path(__file__).resolve().parent / "demo"
BUILT_WITH = (3, 11, 7)

# Documents whose docstring has fewer words than this are skipped as trivial.
MIN_WORDS = 8

# Passage estimate used to size the corpus (the chunker cuts ~160-word passages, ~32 overlap).
PASSAGE_WORDS = 160
OVERLAP_WORDS = 32

# Built-in functions and types a learner meets. Exceptions come from builtins too, below.
BUILTIN_FUNCTIONS = [
    "abs", "all", "any", "ascii", "bin", "callable", "chr", "delattr", "dir", "divmod",
    "eval", "exec", "format", "getattr", "globals", "hasattr", "hash", "hex", "id", "input",
    "isinstance", "issubclass", "iter", "len", "locals", "max", "min", "next", "oct", "open",
    "ord", "pow", "print", "repr", "round", "setattr", "sorted", "sum", "vars", "__import__",
]  # fmt: skip
BUILTIN_TYPES = [
    "bool", "bytearray", "bytes", "classmethod", "complex", "dict", "enumerate", "filter",
    "float", "frozenset", "int", "list", "map", "memoryview", "object", "property", "range",
    "reversed", "set", "slice", "staticmethod", "str", "super", "tuple", "type", "zip",
]  # fmt: skip
BUILTIN_EXCEPTIONS = [
    "AttributeError", "BaseException", "Exception", "FileNotFoundError", "ImportError",
    "IndexError", "KeyError", "KeyboardInterrupt", "NameError", "NotImplementedError",
    "OSError", "RecursionError", "RuntimeError", "StopIteration", "TypeError",
    "UnicodeDecodeError", "ValueError", "ZeroDivisionError",
]  # fmt: skip

# Standard-library modules a Python learner meets, documented with their public API.
MODULES = [
    "abc", "argparse", "asyncio", "base64", "bisect", "calendar", "collections",
    "collections.abc", "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal",
    "difflib", "enum", "fractions", "functools", "glob", "hashlib", "heapq", "io",
    "itertools", "json", "logging", "math", "operator", "os", "os.path", "pathlib", "pickle",
    "pprint", "random", "re", "shutil", "sqlite3", "statistics", "string", "subprocess", "sys",
    "tempfile", "textwrap", "threading", "time", "timeit", "typing", "unittest",
    "urllib.parse", "urllib.request", "uuid", "zipfile",
    "array", "concurrent.futures", "configparser", "doctest", "fnmatch", "getpass", "gzip",
    "html", "inspect", "platform", "queue", "secrets", "shlex", "struct",
    "traceback", "types", "warnings", "weakref", "zoneinfo", "xml.etree.ElementTree",
]  # fmt: skip

# Titles left out: deprecated or internal machinery a learner never calls.
EXCLUDE_TITLES = re.compile(
    r"\._[a-z]"  # private names that some __all__ lists export
    r"|ChildWatcher|^asyncio\.(Abstract|Base)EventLoop|^asyncio\.\w*(Transport|Protocol)"
    r"|^decimal\.(Context|Decimal)\."  # ~90 arithmetic methods of one number type
)

# Modules whose objects report another __module__ (C accelerators, platform modules).
MODULE_ALIASES = {
    "os.path": {"posixpath", "genericpath"},
    "os": {"posix"},
    "io": {"_io"},
    "collections": {"_collections"},
    "collections.abc": {"_collections_abc"},
    "functools": {"_functools"},
    "heapq": {"_heapq"},
    "bisect": {"_bisect"},
    "json": {"json.decoder", "json.encoder"},
    "csv": {"_csv"},
    "datetime": {"_datetime"},
    "decimal": {"_decimal", "_pydecimal"},
    "hashlib": {"_hashlib"},
    "operator": {"_operator"},
    "pickle": {"_pickle"},
    "random": {"_random"},
    "re": {"re._compiler", "re._parser"},
    "sqlite3": {"sqlite3.dbapi2", "_sqlite3"},
    "statistics": set(),
    "string": set(),
    "abc": {"_abc"},
    "threading": {"_thread"},
    "zipfile": set(),
}

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# The bound first parameter of a method: "(self, /, sep=None)" -> "(sep=None)";
# "(cls=None, /, ...)" is a real parameter, kept. Class methods are read bound (no first one).
_LEADING_SELF = re.compile(r"^\((?:self|cls)(?:, /)?(?:, |(?=\)))")
# Values of this machine that a default argument may capture (platform.architecture's
# executable=sys.executable): a signature holding one is left out, so the output stays the same
# wherever the script runs.
_LOCAL_VALUES = tuple(
    v
    for v in sorted({sys.executable, sys.prefix, sys.base_prefix, sys.exec_prefix})
    if v and v != "/"
)


def normal(text: str) -> str:
    """Lower case, white space collapsed, closing punctuation dropped: for containment checks."""
    return " ".join(text.lower().split()).rstrip("?.!: ")


def words(text: str) -> int:
    """Number of whitespace-separated words."""
    return len(text.split())


def estimate_passages(n_words: int) -> int:
    """Passages the chunker will roughly make from a document of n_words words."""
    step = PASSAGE_WORDS - OVERLAP_WORDS
    return max(1, math.ceil((n_words - OVERLAP_WORDS) / step))


def safe_id(raw: str) -> str:
    """A URL- and filename-safe id: [A-Za-z0-9_.-] only."""
    return _ID_UNSAFE.sub("_", raw)


def clean(text: str) -> str:
    """Strip trailing spaces on each line and collapse runs of blank lines."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out)


def topic_documents() -> list[dict[str, str]]:
    """One document per pydoc topic; the title is the topic's own heading."""
    docs = []
    for key in sorted(PYDOC_TOPICS):
        lines = PYDOC_TOPICS[key].strip().splitlines()
        title = key
        if len(lines) > 1 and set(lines[1].strip()) == {"*"}:
            title = lines[0].strip().replace('"', "")
            lines = lines[2:]
        docs.append(
            {
                "_id": safe_id(f"topic.{key}"),
                "title": title,
                "text": clean("\n".join(lines)),
                "source": "pydoc topics",
                "_body": clean("\n".join(lines)),
            }
        )
    return docs


def signature_line(name: str, obj: object, doc: str) -> str:
    """'name(params)' when a stable signature is known and the docstring does not start with it."""
    short = name.rsplit(".", 1)[-1]
    if doc.startswith(short + "(") or doc.startswith(name + "("):
        return ""
    try:
        sig = str(inspect.signature(obj))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if _MEMORY_ADDRESS.search(sig) or len(sig) > 300 or any(v in sig for v in _LOCAL_VALUES):
        return ""
    sig = _LEADING_SELF.sub("(", sig)
    return f"{name}{sig}"


def make_doc(title: str, obj: object, source: str, with_signature: bool = True) -> dict | None:
    """A document for one object, or None when its docstring is missing or trivial."""
    if EXCLUDE_TITLES.search(title):
        return None
    try:
        doc = inspect.getdoc(obj)
    except Exception:  # some descriptors raise on attribute access
        return None
    if not doc or _MEMORY_ADDRESS.search(doc):
        return None
    doc = clean(doc)
    if words(doc) < MIN_WORDS:
        return None
    text = doc
    if with_signature:
        sig = signature_line(title, obj, doc)
        if sig:
            text = f"{sig}\n\n{doc}"
    # "_body" (the docstring alone) is the key for removing duplicates; it is not written out.
    return {
        "_id": safe_id(f"doc.{title}"),
        "title": title,
        "text": text,
        "source": source,
        "_body": doc,
    }


def is_own(obj: object, module_name: str) -> bool:
    """True when obj is defined by module_name (or its accelerator / platform twin)."""
    owner = getattr(obj, "__module__", None)
    if owner is None:
        return False
    allowed = {module_name} | MODULE_ALIASES.get(module_name, set())
    return owner in allowed or owner.startswith(module_name + ".")


def class_documents(title: str, cls: type, source: str) -> list[dict]:
    """The class itself, then its public methods and documented properties defined on it."""
    docs = []
    d = make_doc(title, cls, source)
    if d:
        docs.append(d)
    for name in sorted(vars(cls)):
        if name.startswith("_"):
            continue
        raw = vars(cls)[name]
        if isinstance(raw, classmethod) or type(raw).__name__ == "classmethod_descriptor":
            member = getattr(cls, name)  # bound to the class: its signature drops cls
        elif isinstance(raw, staticmethod):
            member = raw.__func__
        elif inspect.isroutine(raw) or isinstance(raw, property) or inspect.isdatadescriptor(raw):
            member = raw
        else:
            continue
        is_data = isinstance(raw, property) or (
            inspect.isdatadescriptor(raw) and not inspect.isroutine(raw)
        )
        md = make_doc(f"{title}.{name}", member, source, with_signature=not is_data)
        if md:
            docs.append(md)
    return docs


def public_names(module: object) -> list[str]:
    """Names a module exports: __all__ when it has one, else every name without underscore."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return sorted(set(names))


def module_documents(module_name: str) -> list[dict]:
    """The module overview, then its own public functions and classes (with methods)."""
    module = importlib.import_module(module_name)
    source = f"docstring:{module_name}"
    docs = []
    overview = make_doc(module_name, module, source, with_signature=False)
    if overview:
        overview["_id"] = safe_id(f"module.{module_name}")
        overview["title"] = f"{module_name} (module)"
        docs.append(overview)
    has_all = hasattr(module, "__all__")
    for name in public_names(module):
        obj = getattr(module, name, None)
        if obj is None or inspect.ismodule(obj):
            continue
        if not (inspect.isclass(obj) or inspect.isroutine(obj)):
            continue
        if not has_all and not is_own(obj, module_name):
            continue
        if has_all and not is_own(obj, module_name) and module_name not in ("os", "asyncio"):
            # __all__ re-exports from elsewhere (e.g. typing re-exporting abc classes) are kept
            # only where the module is their documented home (os re-exports posix, asyncio
            # re-exports its submodules).
            owner = getattr(obj, "__module__", "") or ""
            if owner.split(".")[0].lstrip("_") != module_name.split(".")[0]:
                continue
        title = f"{module_name}.{name}"
        if inspect.isclass(obj):
            docs.extend(class_documents(title, obj, source))
        else:
            d = make_doc(title, obj, source)
            if d:
                docs.append(d)
    return docs


def builtin_documents() -> list[dict]:
    """Built-in functions, types (with their methods) and the common exceptions."""
    source = "docstring:builtins"
    docs = []
    for name in BUILTIN_FUNCTIONS:
        d = make_doc(name, getattr(builtins, name), source)
        if d:
            docs.append(d)
    for name in BUILTIN_TYPES + BUILTIN_EXCEPTIONS:
        docs.extend(class_documents(name, getattr(builtins, name), source))
    return docs


def dedupe(docs: list[dict]) -> list[dict]:
    """Unique ids (checked) and unique texts: of identical docstrings keep the best-named one.

    Best: the fewest dots in the title (random.seed over random.Random.seed), then a title
    that names the object (the pydoc topic "if" over "else", which share one text), then the
    shortest title, then the id.
    """
    seen_ids: set[str] = set()
    for d in docs:
        if d["_id"] in seen_ids:
            raise SystemExit(f"duplicate id {d['_id']!r}")
        seen_ids.add(d["_id"])

    def rank(d: dict) -> tuple:
        last = d["_id"].rsplit(".", 1)[-1].lower()
        return (d["title"].count("."), last not in d["title"].lower(), len(d["title"]), d["_id"])

    by_body: dict[str, dict] = {}
    for d in sorted(docs, key=rank):
        by_body.setdefault(d["_body"], d)
    kept = sorted(by_body.values(), key=lambda d: d["_id"])
    return [{k: v for k, v in d.items() if k != "_body"} for d in kept]


# ---------------------------------------------------------------- the Python FAQ (labels)

# Debian's python3.11-doc package (install it only to build the demo; the app never needs it).
FAQ_DIR = Path("/usr/share/doc/python3.11/html/faq")
FAQ_PAGES = (
    "general",
    "programming",
    "design",
    "library",
    "extending",
    "windows",
    "gui",
    "installed",
)
FAQ_BUILT_WITH = "3.11.2"  # the documentation release of the package used for the committed files
# The top grade of RankLens's default 0-3 scale (ranklens.scale.DEFAULT_GRADES).
FAQ_GRADE = 3
# Page titles that are themselves a question would leak words of one question into the title of
# every answer on the page; those pages get a plain name instead.
FAQ_PAGE_NAMES = {"installed": "Installed Python FAQ"}

# Tags that end one block of text and begin the next.
_BLOCK_TAGS = {
    "p", "pre", "li", "dt", "dd", "div", "ul", "ol", "dl", "table", "tr", "blockquote",
    "h1", "h2", "h3", "h4", "h5", "h6", "section", "br", "hr", "figure", "caption",
}  # fmt: skip
_SKIP_TAGS = {"script", "style", "head", "title"}


class _Section:
    """One <section> of a FAQ page: its id, heading text, own text blocks and sub-sections."""

    def __init__(self, anchor: str, parent: _Section | None) -> None:
        self.anchor = anchor
        self.parent = parent
        self.heading = ""
        self.blocks: list[str] = []
        self.children: list[_Section] = []


class FaqParser(HTMLParser):
    """Sections of a Sphinx FAQ page (the <section>s inside <div role="main">), as plain text.

    Paragraphs and list items become lines (white space collapsed), <pre> keeps its lines, the
    heading of a section is kept apart from its text, and permalink marks (a.headerlink) and
    scripts are dropped.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: _Section | None = None
        self._section: _Section | None = None
        self._main_depth = 0  # >0 while inside <div role="main">
        self._div_depth = 0
        self._skip = 0  # inside a dropped element (nesting count)
        self._skip_tag: list[str] = []
        self._heading = False
        self._pre = 0
        self._bullet = False  # a list item began: its first text block gets "- "
        self._buf: list[str] = []

    # -- text buffer
    def _flush(self) -> None:
        if self._section is None:
            self._buf = []
            return
        raw = "".join(self._buf)
        self._buf = []
        text = raw.strip("\n") if self._pre else " ".join(raw.split())
        if text.strip():
            if self._bullet:
                text, self._bullet = "- " + text, False
            self._section.blocks.append(text.rstrip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "div":
            self._div_depth += 1
            if a.get("role") == "main" and not self._main_depth:
                self._main_depth = self._div_depth
        if not self._main_depth:
            return
        if self._skip:
            if tag == self._skip_tag[-1]:
                self._skip += 1
            return
        if tag in _SKIP_TAGS or (tag == "a" and "headerlink" in (a.get("class") or "").split()):
            self._skip, self._skip_tag = 1, [tag]
            return
        if tag == "section":
            self._flush()
            node = _Section(a.get("id") or "", self._section)
            if self._section is None:
                if self.root is None:
                    self.root = node
            else:
                self._section.children.append(node)
            self._section = node
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") and self._section is not None:
            self._flush()
            self._heading = True
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag == "pre":
            self._pre += 1
        if tag == "li":
            self._bullet = True
        if tag in ("td", "th"):
            self._buf.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "div":
            if self._main_depth and self._div_depth == self._main_depth:
                self._flush()
                self._main_depth = 0
            self._div_depth -= 1
        if not self._main_depth:
            return
        if self._skip:
            if tag == self._skip_tag[-1]:
                self._skip -= 1
            return
        if self._heading and tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            if self._section is not None and not self._section.heading:
                self._section.heading = " ".join("".join(self._buf).split())
            self._buf = []
            self._heading = False
            return
        if tag == "section":
            self._flush()
            if self._section is not None:
                self._section = self._section.parent
            return
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag == "pre":
            self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._main_depth and not self._skip:
            self._buf.append(data)


def faq_text(blocks: list[str]) -> str:
    """An answer's blocks as text: one block a paragraph, code kept as it was."""
    return clean("\n\n".join(blocks))


def faq_questions(html: str, page: str) -> tuple[str, list[tuple[str, str, str]]]:
    """(page title, [(anchor, section name, question)...]) of one FAQ page, with answers.

    A question is a section without sub-sections whose own text (its answer) has at least
    MIN_WORDS words: "See the next question." is no answer to judge. The section name is its parent's heading ("" directly under the page title).
    """
    parser = FaqParser()
    parser.feed(html)
    parser.close()
    if parser.root is None or not parser.root.heading:
        raise SystemExit(f"FAQ page {page!r}: no <section> with a heading inside the main part")
    found: list[tuple[str, str, str, str]] = []

    def walk(node: _Section) -> None:
        for child in node.children:
            if child.children:
                walk(child)
            elif child.heading and words(faq_text(child.blocks)) >= MIN_WORDS:
                section = child.parent.heading if child.parent is not parser.root else ""
                found.append((child.anchor, section, child.heading, faq_text(child.blocks)))

    walk(parser.root)
    return parser.root.heading, found  # type: ignore[return-value]


def faq_documents(faq_dir: Path) -> tuple[list[dict], list[dict], list[tuple[str, str, int]]]:
    """FAQ answers as documents, their questions as queries, and one label per question."""
    docs, queries, qrels = [], [], []
    missing = [p for p in FAQ_PAGES if not (faq_dir / f"{p}.html").is_file()]
    if missing:
        raise SystemExit(
            f"the Python FAQ pages {', '.join(missing)} are not in {faq_dir}; install them with "
            "`apt-get install python3.11-doc` (needed only to build the demo) or give --faq DIR"
        )
    for page in FAQ_PAGES:
        html = (faq_dir / f"{page}.html").read_text(encoding="utf-8")
        page_title, items = faq_questions(html, page)
        page_title = FAQ_PAGE_NAMES.get(page, page_title)
        for anchor, section, question, answer in items:
            doc_id = safe_id(f"faq.{page}.{anchor}")
            title = f"{page_title} · {section}" if section else page_title
            docs.append(
                {
                    "_id": doc_id,
                    "title": title,
                    "text": answer,
                    "source": f"python-faq:{page}",
                    "_body": answer,
                }
            )
            query_id = safe_id(f"q.faq.{page}.{anchor}")
            queries.append({"_id": query_id, "text": question})
            qrels.append((query_id, doc_id, FAQ_GRADE))
    return docs, queries, qrels


def faq_release(faq_dir: Path) -> str:
    """The documentation release named in the pages' <title> ("... Python 3.11.2 documentation")."""
    html = (faq_dir / "general.html").read_text(encoding="utf-8")

    class _Title(HTMLParser):
        text = ""
        inside = False

        def handle_starttag(self, tag, attrs):  # noqa: ANN001
            self.inside = tag == "title"

        def handle_endtag(self, tag):  # noqa: ANN001
            self.inside = False

        def handle_data(self, data):  # noqa: ANN001
            if self.inside:
                self.text += data

    t = _Title()
    t.feed(html)
    words_ = t.text.split()
    return words_[words_.index("documentation") - 1] if "documentation" in words_ else "?"


def write_jsonl(path: Path, records: list[dict]) -> None:
    """One JSON object a line, written atomically with Unix line ends."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(path)


def write_qrels(path: Path, qrels: list[tuple[str, str, int]]) -> None:
    """BEIR qrels TSV: a header, then query-id, corpus-id, score."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tsv.tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for qid, did, grade in qrels:
            fh.write(f"{qid}\t{did}\t{grade}\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    """Write corpus.jsonl, queries.jsonl and qrels/faq.tsv, and print their counts."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="folder to write (default data/demo)")
    ap.add_argument("--faq", type=Path, default=FAQ_DIR, help="html/faq folder of python3.11-doc")
    args = ap.parse_args(argv)
    if sys.version_info[:3] != BUILT_WITH:
        print(
            f"warning: the committed corpus was built with Python {'.'.join(map(str, BUILT_WITH))};"
            f" Python {sys.version.split()[0]} gives different docstrings",
            file=sys.stderr,
        )
    release = faq_release(args.faq) if (args.faq / "general.html").is_file() else "?"
    if release != FAQ_BUILT_WITH:
        print(
            f"warning: the committed FAQ comes from the Python {FAQ_BUILT_WITH} documentation; "
            f"{args.faq} holds {release}",
            file=sys.stderr,
        )
    faq_docs, faq_queries, faq_qrels = faq_documents(args.faq)
    for d, q in zip(faq_docs, faq_queries, strict=True):
        if normal(q["text"]) in normal(d["title"] + " " + d["text"]):
            raise SystemExit(f"FAQ question {q['_id']!r} appears inside its own answer")
    docs = topic_documents() + builtin_documents() + faq_docs
    for module_name in MODULES:
        docs.extend(module_documents(module_name))
    before = len(docs)
    docs = dedupe(docs)
    kept = {d["_id"] for d in docs}
    lost = [did for _, did, _ in faq_qrels if did not in kept]
    if lost:
        raise SystemExit(f"FAQ answers removed as duplicates of other documents: {lost}")

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "corpus.jsonl", docs)
    write_jsonl(out / "queries.jsonl", faq_queries)
    write_qrels(out / "qrels" / "faq.tsv", faq_qrels)

    n_words = sum(words(d["text"]) for d in docs)
    n_passages = sum(estimate_passages(words(d["text"])) for d in docs)
    by_source: dict[str, list[int]] = {}
    for d in docs:
        key = d["source"]
        entry = by_source.setdefault(key, [0, 0])
        entry[0] += 1
        entry[1] += estimate_passages(words(d["text"]))
    print(f"python {sys.version.split()[0]} on {sys.platform}; FAQ of the {release} documentation")
    for key in sorted(by_source):
        print(f"  {key:34s} {by_source[key][0]:5d} docs {by_source[key][1]:5d} passages")
    print(f"documents: {len(docs)} (after removing {before - len(docs)} duplicate texts)")
    print(f"  of which FAQ answers: {len(faq_docs)} (queries and labels: {len(faq_qrels)})")
    print(f"words: {n_words}")
    print(f"estimated passages: {n_passages}")
    print(f"bytes: {(out / 'corpus.jsonl').stat().st_size}  ->  {out / 'corpus.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
