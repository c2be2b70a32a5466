"""Grading scales: a project's grades (value, name, colour, one-line guideline), 2 to 10 of them.
Pure values, no storage: the store keeps a corpus's scale as Scale.to_json().
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from ranklens.errors import InputError


@dataclass(frozen=True)
class Grade:
    """One grade of a scale: its value (the key to press), name, colour and one-line guideline."""

    value: int
    label: str
    colour: str  # "#rrggbb"
    guideline: str


_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_GREY, _GREEN = (0xBD, 0xBD, 0xBD), (0x2E, 0x7D, 0x32)

DEFAULT_GRADES = (
    Grade(0, "Not relevant", "#bdbdbd", "Nothing in the passage helps answer the query."),
    Grade(1, "Related", "#ffd54f", "On the query's topic, but it does not answer it."),
    Grade(2, "Relevant", "#81c784", "Answers the query in part, or among other things."),
    Grade(3, "Highly relevant", "#2e7d32", "Answers the query fully; a searcher could stop here."),
)
BINARY_GRADES = (
    Grade(0, "Not relevant", "#bdbdbd", "The passage does not help answer the query."),
    Grade(1, "Relevant", "#2e7d32", "The passage helps answer the query."),
)


@dataclass(frozen=True)
class Scale:
    """A project's grading scale: 2 to 10 grades with values 0..n-1 (keys 0-9 on the Judge page)."""

    grades: tuple[Grade, ...] = DEFAULT_GRADES

    def __post_init__(self) -> None:
        n = len(self.grades)
        if not 2 <= n <= 10:
            raise InputError(None, f"a scale has 2 to 10 grades, got {n}")
        if [g.value for g in self.grades] != list(range(n)):
            raise InputError(None, f"a scale's grades must be 0..{n - 1} in order")
        for g in self.grades:
            if not _COLOUR.fullmatch(g.colour):
                raise InputError(None, f"grade {g.value}: colour {g.colour!r} is not #rrggbb")
            if not g.label.strip():
                raise InputError(None, f"grade {g.value} has no name")

    @classmethod
    def default(cls) -> Scale:
        """0-3: not relevant, related, relevant, highly relevant."""
        return cls(DEFAULT_GRADES)

    @classmethod
    def binary(cls) -> Scale:
        return cls(BINARY_GRADES)

    @classmethod
    def of(cls, n: int) -> Scale:
        """A scale of n grades (2 binary, 4 the default, others named and coloured generically)."""
        if n == 2:
            return cls.binary()
        if n == 4:
            return cls.default()
        if not 2 <= n <= 10:
            raise InputError(None, f"a scale has 2 to 10 grades, got {n}")
        grades = []
        for i in range(n):
            t = i / (n - 1)
            rgb = (round(a + (b - a) * t) for a, b in zip(_GREY, _GREEN, strict=True))
            colour = "#" + "".join(f"{c:02x}" for c in rgb)
            label = "Not relevant" if i == 0 else "Highly relevant" if i == n - 1 else f"Grade {i}"
            guideline = (
                "Nothing in the passage helps answer the query."
                if i == 0
                else f"Relevance {i} of {n - 1}: higher means it answers the query better."
            )
            grades.append(Grade(i, label, colour, guideline))
        return cls(tuple(grades))

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(g.value for g in self.grades)

    @property
    def max(self) -> int:
        return len(self.grades) - 1

    def __len__(self) -> int:
        return len(self.grades)

    def __contains__(self, grade: object) -> bool:
        return isinstance(grade, int) and not isinstance(grade, bool) and 0 <= grade <= self.max

    def describe(self) -> str:
        return f"{len(self)} grades, 0-{self.max}"

    def check(self, grade: object, where: str | None = None, line: int | None = None) -> int:
        """The grade, or InputError naming where it came from when it is not on this scale."""
        if grade not in self:
            raise InputError(
                where, f"grade {grade!r} is outside the scale ({self.describe()})", line
            )
        return int(grade)  # type: ignore[call-overload]

    def to_json(self) -> str:
        return json.dumps([asdict(g) for g in self.grades])

    @classmethod
    def from_json(cls, text: str) -> Scale:
        return cls(tuple(Grade(**g) for g in json.loads(text)))
