"""The small records' shared rules (ranklens.types): the one level check every module uses."""

from __future__ import annotations

import pytest

from ranklens.errors import InputError
from ranklens.types import LEVELS, check_level


def test_check_level_reads_document_as_doc_and_names_both_levels():
    assert LEVELS == ("doc", "passage")
    assert [check_level(x) for x in ("doc", "document", "passage")] == ["doc", "doc", "passage"]
    with pytest.raises(InputError, match="level must be doc or passage, got 'sentence'"):
        check_level("sentence")
