"""Command-line commands of this area (registered on ``thermogeo.cli.app.app`` at import)."""
