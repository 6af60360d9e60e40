"""mylib: a small pure-Python library."""

from mylib.core import normalize

__all__ = ["normalize"]
__version__ = "0.1.0"
