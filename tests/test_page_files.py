"""components/page_files: every page listed once, each a folder with page.py, and the only
scripts directly in pages/ are the addresses that run app.py in Streamlit's legacy mode."""

from __future__ import annotations

import ast

from components import page_files

from .conftest import ROOT


def test_each_page_is_a_folder_with_its_script_and_one_address():
    scripts = [script for script, *_ in page_files.PAGES]
    urls = [url for *_, url in page_files.PAGES]
    assert len(set(scripts)) == len(scripts) and len(set(urls)) == len(urls)
    for script, _title, _icon, url in page_files.PAGES:
        path = ROOT / script
        assert path.is_file() and path.name == "page.py" and path.parent.name == url


def test_only_the_addresses_lie_directly_in_pages_and_each_runs_app_py():
    default = page_files.START  # its address is "/": app.py itself
    expected = {f"{url}.py" for script, *_, url in page_files.PAGES if script != default}
    found = {p.name for p in (ROOT / "pages").glob("*.py")}
    assert found == expected
    for name in found:
        tree = ast.parse((ROOT / "pages" / name).read_text())
        body = [n for n in tree.body if not isinstance(n, ast.Expr | ast.ImportFrom)]
        calls = [ast.unparse(n.value) for n in tree.body[1:] if isinstance(n, ast.Expr)]
        assert body == [] and calls == ["page_files.run_app()"], name
