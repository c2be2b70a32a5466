"""Tests of ranklens/scale.py: grading scales of 2 to 10 grades, checked on the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from ranklens.errors import InputError
from ranklens.judging import (
    Scale,
)

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def test_default_scale_is_0_to_3_with_colours_and_guidelines():
    s = Scale.default()
    assert s.values == (0, 1, 2, 3)
    assert [g.label for g in s.grades] == ["Not relevant", "Related", "Relevant", "Highly relevant"]
    assert all(g.colour.startswith("#") and g.guideline for g in s.grades)
    assert 3 in s and 4 not in s and -1 not in s and True not in s


@pytest.mark.parametrize("n", range(2, 11))
def test_scales_from_binary_to_ten_grades(n):
    s = Scale.of(n)
    assert s.values == tuple(range(n))
    assert Scale.from_json(s.to_json()) == s


@pytest.mark.parametrize("n", [1, 11])
def test_scale_size_out_of_range_is_refused(n):
    with pytest.raises(InputError, match="2 to 10 grades"):
        Scale.of(n)


def test_grades_are_validated_against_the_corpus_scale(store):
    with pytest.raises(InputError, match="outside the scale"):
        store.add_label("c", "alice", "q1", "d1#0", 4, doc_id="d1")
    assert store.count_events() == 0
    store.set_scale("c", Scale.of(5))
    store.add_label("c", "alice", "q1", "d1#0", 4, doc_id="d1")
    with pytest.raises(InputError, match="already holds grade 4"):
        store.set_scale("c", Scale.binary())
    assert store.scale("c") == Scale.of(5)
    assert store.scale("other") == Scale.default()
