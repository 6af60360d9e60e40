"""Tests for the core helpers."""

import mylib
from mylib.core import normalize


def test_normalize_collapses_whitespace():
    """Runs of spaces, tabs and newlines become one space."""
    assert normalize("  a \t b\n c  ") == "a b c"
    assert normalize("") == ""


def test_normalize_accepts_non_strings():
    """Values that are not strings are converted first."""
    assert normalize(42) == "42"


def test_package_exports_normalize():
    """The package re-exports normalize and carries a version."""
    assert mylib.normalize is normalize
    assert mylib.__version__
