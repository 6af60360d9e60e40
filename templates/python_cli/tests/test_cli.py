"""Tests for the command line entry point."""

import json

from cli import build_parser, main, run


def test_run_joins_words_as_text():
    """Text output is the words joined by spaces."""
    assert run(["hello", "world"]) == "hello world"
    assert run([]) == ""


def test_run_renders_json():
    """JSON output carries the words and their count."""
    assert json.loads(run(["a", "b"], "json")) == {"count": 2, "words": ["a", "b"]}


def test_main_prints_and_succeeds(capsys):
    """main prints the rendered words and returns 0."""
    assert main(["--format", "text", "hi", "there"]) == 0
    assert capsys.readouterr().out == "hi there\n"


def test_parser_defaults_to_text():
    """Without options the format is text."""
    assert build_parser().parse_args([]).format == "text"
