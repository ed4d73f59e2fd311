"""Command line: ``thermogeo COMMAND``. Thin: parse, call the library, print or save."""

from thermogeo.cli.app import app, main

__all__ = ["app", "main"]
