"""A mutated GOROOT: a hard-linked copy of a real toolchain with a mutant's edits applied.

Hard links make the copy cost a fraction of a second and no disk, and the original is never
written: an edited file is written as a new file and renamed over its link, which replaces the
copy's directory entry and leaves the shared inode (the original's content) untouched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from rthooks.errors import RthooksError
from rthooks.harness.mutate.catalogue import Mutant, problems_in


def linked_copy(goroot: Path, dest: Path) -> Path:
    """``dest``: a copy of ``goroot`` whose files are hard links to the original's."""
    if dest.exists():
        raise RthooksError("already exists", where=str(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["cp", "-al", str(goroot), str(dest)], check=True, capture_output=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
        # another file system (no hard links across devices): an ordinary copy works, only slower
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(goroot, dest, symlinks=True)
    return dest


def apply(goroot: Path, mutant: Mutant) -> None:
    """Apply every edit of ``mutant`` to the copy at ``goroot``, never writing through a hard link."""
    problems = problems_in(goroot, mutant)
    if problems:
        raise RthooksError(f"mutant {mutant.id} does not apply: {problems[0]}", where=mutant.where)
    for e in mutant.edits:
        path = goroot / e.file
        text = path.read_text().replace(e.find, e.replace, 1)
        tmp = path.with_name(path.name + ".rthooks-mutant")
        tmp.write_text(text)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        tmp.replace(path)  # a new inode: the original toolchain's file keeps its content
