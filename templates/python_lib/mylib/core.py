"""Core text helpers of the library."""


def normalize(text):
    """Return text with surrounding spaces removed and inner runs of whitespace collapsed."""
    return " ".join(str(text).split())
