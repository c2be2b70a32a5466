"""Hostile text in a real browser: documents, titles, ids, queries, query ids, guidelines and an
annotator's name holding <script>, <img onerror>, Markdown images and links to a remote host,
blank lines that would end an HTML block, and a 100,000-character word.

On Search, Judge, Evaluate and Learn, every tab of each: no dialog opens, no script runs
(window.__pwned stays undefined), no request leaves 127.0.0.1, no link or image to a remote
host is in the page, and the long word widens nothing (no box is wider than the viewport).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..hostile_data import MD, NAME, XSS, setup_corpus

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("RANKLENS_SHOTS", "/tmp/shots"))


class Watch:
    """What the page did: dialogs, requests (all recorded, remote ones aborted)."""

    def __init__(self, page) -> None:
        self.page, self.dialogs, self.requests = page, [], []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: self.requests.append(r.url))
        page.route(re.compile(r"^(?!(https?|wss?)://(127\.0\.0\.1|localhost)[:/]).*"), self._abort)

    @staticmethod
    def _abort(route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    def remote_requests(self) -> list[str]:
        return [
            u
            for u in self.requests
            if not u.startswith(("data:", "blob:"))
            and urlsplit(u).hostname not in ("127.0.0.1", "localhost")
        ]

    def settle(self) -> None:
        page = self.page
        page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")
        page.wait_for_timeout(400)  # images and scripts get their chance to load and run
        page.wait_for_function("!document.querySelector('[data-stale=\"true\"]')")

    def check(self, where: str) -> None:
        self.settle()
        page = self.page
        assert self.dialogs == [], f"{where}: a dialog opened: {self.dialogs}"
        assert page.evaluate("() => window.__pwned === undefined"), f"{where}: a script ran"
        assert self.remote_requests() == [], f"{where}: requests left 127.0.0.1"
        found = page.evaluate(
            """() => {
            const local = u => { try { const h = new URL(u, location.href);
                return ['127.0.0.1', 'localhost'].includes(h.hostname)
                    || ['data:', 'blob:'].includes(h.protocol); } catch (e) { return false; } };
            const out = [];
            for (const a of document.querySelectorAll('a[href]'))
                if (!local(a.getAttribute('href'))) out.push('a ' + a.getAttribute('href') + ' in ' + a.parentElement.outerHTML.slice(0, 300));
            for (const el of document.querySelectorAll('img[src], iframe, embed, object'))
                if (!local(el.getAttribute('src') || 'about:x')) out.push(el.tagName + ' ' + el.src);
            for (const el of document.querySelectorAll('*'))
                for (const at of el.attributes)
                    if (at.name.startsWith('on')) out.push(el.tagName + ' ' + at.name);
            return out; }"""
        )
        assert found == [], f"{where}: live markup from the data: {found[:10]}"
        width = page.evaluate("() => window.innerWidth")
        boxes = page.evaluate(
            """() => {
            const out = [];
            for (const sel of ['[data-testid="stMain"]', '[data-testid="stSidebar"]',
                               '[data-testid="stMainBlockContainer"]', '[data-testid="stColumn"]',
                               '.rl-card', '.rl-jp', '.rl-jq', '[data-testid="stExpander"]',
                               '[data-testid="stMarkdownContainer"]']) {
                for (const el of document.querySelectorAll(sel)) {
                    const r = el.getBoundingClientRect();
                    const over = sel.includes('Sidebar') ? 0 : el.scrollWidth - el.clientWidth;
                    if (r.width > 0) out.push([sel, r.right, over]);
                }
            }
            out.push(['document', document.documentElement.scrollWidth, 0]);
            return out; }"""
        )
        wide = [(s, right, over) for s, right, over in boxes if right > width + 1 or over > 40]
        assert wide == [], f"{where}: wider than the {width}px viewport: {wide[:10]}"

    def tabs(self, where: str) -> int:
        """Open every tab of the page in turn and check each; where a tab asks for a query of
        the corpus, pick the hostile one (q1) and open the tabs inside it too. Returns how many
        top tabs there were."""
        page = self.page
        names = page.get_by_role("tab").all_inner_texts()
        for name in names:
            page.get_by_role("tab", name=name, exact=True).first.click()
            self.settle()
            self.check(f"{where} / {name}")
            ask = page.get_by_label("A query of the corpus")
            if ask.count() and ask.first.is_visible():
                ask.first.click()
                page.get_by_role("option", name=re.compile(r"^q1<svg")).first.click()
                self.settle()
                self.check(f"{where} / {name} / q1")
                for inner in page.get_by_role("tab").all_inner_texts():
                    if inner not in names:
                        page.get_by_role("tab", name=inner, exact=True).first.click()
                        self.settle()
                        self.check(f"{where} / {name} / q1 / {inner}")
        return len(names)


def goto(page, link: str, heading: str | None = None) -> None:
    page.get_by_role("link", name=link, exact=True).click()
    page.get_by_role("heading", name=heading or link).wait_for()


def test_hostile_text_renders_inert_everywhere(home, start_app, browser_page, tmp_path):
    setup_corpus(home, ("bm25", "all-MiniLM-L6-v2"))  # Learn needs a dense model
    app = start_app({"RANKLENS_DEMO": "0"})
    page = browser_page
    watch = Watch(page)
    page.goto(app.url)
    SHOTS.mkdir(parents=True, exist_ok=True)

    # Search: a free query holding the payloads, then the query set's first query
    goto(page, "Search")
    box = page.get_by_role("textbox", name="Query", exact=True)
    box.fill(f"sourdough bread {XSS} {MD}")
    box.press("Enter")
    page.locator(".rl-card").first.wait_for(timeout=90_000)
    watch.check("Search, free query")
    page.get_by_text("![pixel](http://198.51.100.7/md.png)").first.wait_for()  # shown as text
    # the 100,000-character word: a bounded excerpt, the whole text behind an expander
    assert page.locator(".rl-card").evaluate_all("els => els.every(e => e.innerText.length < 3000)")
    expander = page.get_by_text(re.compile(r"Full passage \(100,\d{3} characters\)")).first
    expander.wait_for()
    expander.click()
    watch.check("Search, full passage open")
    page.screenshot(path=str(SHOTS / "hostile-search.png"))
    # labelling as a name that holds markup: the caption shows it as text
    page.get_by_text("Query sets").first.click()
    page.get_by_role("button", name="Next ▶").click()
    watch.settle()
    page.get_by_role("button", name="◀ Previous").click()  # the first query: q1, its id hostile
    watch.settle()
    name = page.get_by_role("textbox", name="Your name (to label)")
    if name.count():
        name.fill(NAME)
        name.press("Enter")
        shown = page.get_by_text(re.compile(r"^Labelling as eve!\[n\]")).first
        assert shown.inner_text().replace("\u2060", "").startswith(f"Labelling as {NAME} for")
    watch.check("Search, query from the set, labelling")

    # Judge: a typed name holding markup, then a plain one; every tab
    goto(page, "Judge")
    who = page.get_by_label("Your name", exact=True)
    who.fill(NAME)
    who.press("Enter")
    watch.check("Judge, hostile name")
    who.fill("kbd")
    who.press("Enter")
    watch.settle()
    assert watch.tabs("Judge") >= 4
    page.get_by_role("tab", name="Judge").click()
    page.locator(".rl-jp").first.wait_for()
    watch.check("Judge, the passage")
    page.screenshot(path=str(SHOTS / "hostile-judge.png"))

    goto(page, "Evaluate")
    page.get_by_role("heading", name="Summary").wait_for(timeout=60_000)
    watch.check("Evaluate")
    assert watch.tabs("Evaluate") >= 5
    page.screenshot(path=str(SHOTS / "hostile-evaluate.png"))

    goto(page, "Learn")
    watch.check("Learn")
    assert watch.tabs("Learn") >= 3
    page.screenshot(path=str(SHOTS / "hostile-learn.png"))

    goto(page, "Corpus", "Corpora")
    watch.check("Corpus")
    assert len(watch.requests) > 10  # the listener saw the app's own traffic
