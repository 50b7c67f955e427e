"""Every Python block of README.md and docs/ runs in CI as written (issue #24); the README stays a landing page.

Each block runs as its own program in a fresh directory (``tests/docs/doc_blocks.py`` says how
blocks are found and marked). A block naming a server at ``localhost`` gets the server the test
fixtures started (tests/servers/), never a hand-kept copy.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from doc_blocks import PAGES, ROOT, SERVERS, Block, all_blocks, files_before, python_blocks
from markdown_it import MarkdownIt

BLOCKS = all_blocks()
RUN = [block for block in BLOCKS if block.not_run is None]
#: A block that cannot run stays rare: raise this only with a reason in the page.
MAX_NOT_RUN = 3
README_MAX_LINES = 200
TIMEOUT = 120


def server_address(request: pytest.FixtureRequest, fixture: str) -> str:
    """``host:port`` of the server a fixture started (the ladder skips, or fails under CI, without one)."""
    url: str = request.getfixturevalue(fixture).url
    if fixture == "dynamodb_server":
        if "endpoint_url=" not in url:
            pytest.skip("SESSIONKV_DYNAMODB_URL names a real table: the docs' blocks create tables of their own")
        url = url.split("endpoint_url=", 1)[1].split("&", 1)[0]
    parts = urlsplit(url)
    if fixture == "postgres_server":  # the block's URL carries its own user and database
        return f"{parts.hostname}:{parts.port}"
    return parts.netloc


def write(root: Path, block: Block, code: str) -> Path:
    path = root / (block.file or "main.py")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(code, encoding="utf-8")
    return path


def run(block: Block, root: Path, request: pytest.FixtureRequest) -> subprocess.CompletedProcess[str]:
    """Run ``block`` (after writing the file blocks before it on its page) with the test servers' addresses."""
    needed = {address: server_address(request, SERVERS[address]) for address in SERVERS if address in block.code}
    for earlier in [*files_before(block), block]:
        code = earlier.code
        for address, actual in needed.items():
            code = code.replace(address, actual)
        path = write(root, earlier, code)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PYTHONPATH"] = str(root)
    if block.is_test_file:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:benchmark", str(path)]
    else:
        command = [sys.executable, str(path)]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT)


@pytest.mark.parametrize("block", RUN, ids=[block.id for block in RUN])
def test_block_runs_as_written(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    done = run(block, tmp_path, request)
    assert done.returncode == 0, f"{block.id} failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, f"{block.id} printed a traceback:\n{done.stderr}"


def test_blocks_are_found_and_few_are_not_run() -> None:
    assert len(RUN) >= 20, f"only {len(RUN)} runnable Python blocks found in {len(PAGES)} pages"
    shown = [f"{block.id} ({block.not_run})" for block in BLOCKS if block.not_run is not None]
    assert len(shown) <= MAX_NOT_RUN, f"too many blocks marked not run: {shown}"


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_no_python_block_escapes_the_collector(page: Path) -> None:
    """A fence the parser does not see as one (indented under an admonition, say) would never run: none may exist."""
    opened = re.findall(r"^[ \t>]*(?:```|~~~)[ \t]*py(?:thon)?\b", page.read_text(encoding="utf-8"), re.M)
    assert len(opened) == len(python_blocks(page)), f"{page.name}: a Python block is not collected as a program"


def test_readme_is_a_landing_page() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; the details belong in docs/"


def test_readme_links_resolve() -> None:
    """The README is read on the repository's front page, outside the site: its relative links must point at files."""
    readme = ROOT / "README.md"
    tokens = MarkdownIt("commonmark").parse(readme.read_text(encoding="utf-8"))
    targets = [
        str(child.attrs["href"])
        for token in tokens
        if token.type == "inline"
        for child in token.children or []
        if child.type == "link_open"
    ]
    local = [href.split("#", 1)[0] for href in targets if "://" not in href and not href.startswith(("#", "mailto:"))]
    assert len(local) >= 10, f"the README links into the docs too little: {local}"
    missing = [href for href in local if not (ROOT / href).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_blocks_are_told_apart(tmp_path: Path) -> None:
    """Programs, files of a multi-file example and blocks marked not run, as the pages write them."""
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nprint(1)\n```\n\n"
        "```py title=x\n# pkg/mod.py\nX = 1\n```\n\n"
        "<!-- not run: needs a GPU -->\n```python\nimport torch\n```\n\n"
        "```pycon\n>>> 1\n```\n\n"
        "    ```python\n    indented code, not a fence\n    ```\n\n"
        "```python\nsee redis://localhost:6379/0 and localhost:8000\n```\n",
        encoding="utf-8",
    )
    program, module, shown, server = python_blocks(page)
    assert (program.line, program.file, program.not_run) == (1, None, None)
    assert (module.file, module.is_test_file, module.not_run) == ("pkg/mod.py", False, None)
    assert shown.not_run == "needs a GPU" and shown.file is None
    assert server.servers == ["redis_server", "dynamodb_server"] and program.servers == []
    assert files_before(server) == [module]
