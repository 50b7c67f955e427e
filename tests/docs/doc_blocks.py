"""The Python blocks of README.md and docs/, read with markdown-it (the CommonMark parser), no pytest.

A block is one fenced code block whose info string starts with ``python``. Three kinds:

- a *program* (the default): run as written, as ``python main.py`` in a fresh directory;
- a *file* of a multi-file example: its first line is ``# path/to/file.py``; it is written to that
  path, where the page's later blocks can import it, and run too (with pytest if it is a test file);
- a block preceded by ``<!-- not run: REASON -->``: shown only, never run (rare, on purpose).

Blocks that need a server name it the way a reader would, ``localhost`` and the server's usual port
(``redis://localhost:6379/0``); the tests substitute the address of the server the fixtures started.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
#: Every page whose Python blocks must run.
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<reason>\S.*?)\s*-->\s*$", re.S)
FILE_LINE = re.compile(r"#\s*(?P<path>[\w./-]+\.py)\b")
#: The address a block writes -> the server fixture whose address replaces it.
SERVERS = {
    "localhost:6379": "redis_server",
    "localhost:26379": "redis_sentinel",  # redis+sentinel://localhost:26379/mymaster: the group's three sentinels
    "localhost:11211": "memcached_server",
    "localhost:2379": "etcd_server",
    "localhost:8000": "dynamodb_server",
    "localhost:5432": "postgres_server",  # the block names its user: postgresql://postgres@localhost:5432/postgres
}


@dataclass(frozen=True)
class Block:
    """One Python block: where it is, its code, and how it is run."""

    page: Path
    line: int  # 1-based line of the opening fence
    code: str
    file: str | None = None  # the path a file block is written to
    not_run: str | None = None  # the reason a block is only shown

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def servers(self) -> list[str]:
        """Fixture names of the servers this block talks to."""
        return [fixture for address, fixture in SERVERS.items() if address in self.code]

    @property
    def is_test_file(self) -> bool:
        return self.file is not None and Path(self.file).name.startswith("test_")


def python_blocks(page: Path) -> list[Block]:
    """The Python blocks of one Markdown page, in order."""
    tokens = MarkdownIt("commonmark").parse(page.read_text(encoding="utf-8"))
    blocks = []
    for index, token in enumerate(tokens):
        words = token.info.split()
        if token.type != "fence" or not words or words[0] not in ("python", "py"):
            continue
        assert token.map is not None
        before = tokens[index - 1] if index else None
        marked = NOT_RUN.match(before.content.strip()) if before is not None and before.type == "html_block" else None
        first = token.content.splitlines()[0] if token.content else ""
        named = FILE_LINE.fullmatch(first.strip())
        blocks.append(
            Block(
                page=page,
                line=token.map[0] + 1,
                code=token.content,
                file=named["path"] if named else None,
                not_run=marked["reason"] if marked else None,
            )
        )
    return blocks


def all_blocks() -> list[Block]:
    """Every Python block of every page."""
    return [block for page in PAGES for block in python_blocks(page)]


def files_before(block: Block) -> list[Block]:
    """The file blocks of ``block``'s page that come before it (what it may import)."""
    return [other for other in python_blocks(block.page) if other.file is not None and other.line < block.line]
