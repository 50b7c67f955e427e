"""MkDocs hooks for the sessionkv site: option tables generated from the code, and the benchmark chart.

``<!-- sessionkv-options: module:Class -->`` in a page becomes a table of that store's declared
``options`` (name, type, default, help), so a backend page never drifts from what ``from_url``
accepts. The benchmark charts (``bench/results/latest.png``, ``soak.png``) are served from where the bench writes it.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"<!-- sessionkv-options: ([\w.]+):(\w+) -->")
#: Files outside docs/ that the site serves: site path -> source path.
EXTERNAL = {
    "benchmarks/latest.png": ROOT / "bench" / "results" / "latest.png",
    "benchmarks/soak.png": ROOT / "bench" / "results" / "soak.png",
}


def options_table(module: str, name: str) -> str:
    """A Markdown table of ``module.name.options`` (a store class's declared ``sessionkv.Option``s)."""
    store = getattr(importlib.import_module(module), name)
    rows = ["| option | type | default | what it does |", "|---|---|---|---|"]
    for option_name, option in store.options.items():
        default = "—" if option.default is None else f"`{option.default!r}`"
        text = option.help.replace("|", "\\|")
        rows.append(f"| `{option_name}` | `{option.type.__name__}` | {default} | {text} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    return MARKER.sub(lambda match: options_table(match[1], match[2]), markdown)


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    for site_path, source in EXTERNAL.items():
        files.append(File.generated(config, site_path, abs_src_path=str(source)))
    return files
