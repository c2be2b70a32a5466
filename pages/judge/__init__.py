"""The Judge page's tabs, one module each (`<what>_tab.py` with one render()), the sections and
panels they are built from, and what they share (header, display); pages/judge/page.py lays them out.
"""
