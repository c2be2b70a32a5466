"""The Judge page's tabs, one module each (setup, judging, agreement, final) and what they share
(common); pages/3_judge.py lays them out.
"""
