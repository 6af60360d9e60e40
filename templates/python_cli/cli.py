"""Command line entry point of the project."""

import argparse
import json
import sys


def build_parser():
    """Return the argument parser of the command."""
    parser = argparse.ArgumentParser(prog="cli.py", description="Echo words back.")
    parser.add_argument("words", nargs="*", help="words to echo")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    return parser


def run(words, output_format="text"):
    """Return the words rendered in output_format."""
    if output_format == "json":
        return json.dumps({"count": len(words), "words": list(words)})
    return " ".join(words)


def main(argv=None):
    """Parse argv, print the result and return the exit code."""
    args = build_parser().parse_args(argv)
    print(run(args.words, args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
