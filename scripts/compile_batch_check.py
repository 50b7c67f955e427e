"""Hatchling build hook: compile ``sessionkv``'s ``mset`` batch check with mypyc when it can.

``core/sessionkv/_batch_check.py`` is plain Python and runs as such whenever this step is skipped or
fails (no C compiler, no Python headers): the install never fails because of it, it only warns.
The compiled copy is ``sessionkv._batch_check_compiled``, stamped with the source's SHA-256 so that
``sessionkv.batch_check`` ignores it once the source changes. A wheel carries it; an editable
install puts it beside the source (git ignores it). ``HATCH_BUILD_NO_HOOKS=true`` skips the step.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("core", "sessionkv", "_batch_check.py")
COMPILED = "_batch_check_compiled"


def compile_check(source: Path, workdir: Path) -> list[Path]:
    """Compile a stamped copy of ``source`` as ``sessionkv._batch_check_compiled``; returns the built files."""
    package = workdir / "sessionkv"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    text = source.read_bytes()
    stamp = f'\nSOURCE_SHA256 = "{hashlib.sha256(text).hexdigest()}"\n'.encode()
    (package / f"{COMPILED}.py").write_bytes(text + stamp)
    subprocess.run(
        [sys.executable, "-m", "mypyc", f"sessionkv/{COMPILED}.py"],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    )
    built = sorted(path for path in package.glob(f"{COMPILED}*") if path.suffix in (".so", ".pyd"))
    if not built:
        raise FileNotFoundError(f"mypyc left no extension module for {COMPILED}")
    return built


class CompileBatchCheckHook(BuildHookInterface):  # type: ignore[type-arg]
    """Adds the compiled batch check to wheels (and, for editable installs, to the source tree)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        self._workdir = Path(tempfile.mkdtemp(prefix="sessionkv-mypyc-"))
        try:
            built = compile_check(root / SOURCE, self._workdir)
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", None) or getattr(exc, "stdout", None) or str(exc)
            last = detail.strip().splitlines()[-1] if detail.strip() else type(exc).__name__
            self.app.display_warning(
                f"sessionkv: the mset batch check stays plain Python (mypyc failed: {last}); for the compiled"
                " one, install a C compiler and Python's headers (Debian: apt install gcc python3-dev) and reinstall"
            )
            return
        if version == "editable":  # the package is imported from the source tree: put the build there
            for path in built:
                shutil.copy2(path, root / SOURCE.parent / path.name)
            return
        for path in built:
            build_data["force_include"][str(path)] = f"sessionkv/{path.name}"
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        shutil.rmtree(self._workdir, ignore_errors=True)

    def clean(self, versions: list[str]) -> None:
        for path in (Path(self.root) / SOURCE.parent).glob(f"{COMPILED}*"):
            path.unlink()
