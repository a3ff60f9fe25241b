"""The files a case names, opened only inside the case's working directory.

The oracle runs inside the harness's own process, with the harness's rights, so a file name from
a case (a stranger's pull request) must never reach ``open`` unchecked: ``/home/ci/.bashrc``,
``../x`` or a symlink planted in the working directory would otherwise let a YAML file write to
the host. Every file the model reads or writes on a case's behalf goes through :class:`CaseFiles`:

- the name is relative, has no ``..`` component and no NUL, and names something below the
  working directory (not the directory itself);
- each directory on the way is opened relative to the one before it with ``O_NOFOLLOW``, and
  the file itself too, so no component can be a symlink (checked by the kernel at open time,
  not by an earlier ``lstat`` that a later rename could outdate);
- only a regular file with a single link is used (no FIFO, device, socket or hard link to a
  file elsewhere); it is opened ``O_NONBLOCK`` so a planted FIFO cannot block the harness, and
  truncated only after that check;
- what one run writes is capped (:data:`MAX_WRITE_BYTES`), and so is what it reads.

A refusal is a :class:`StepError` naming the file and the reason, the shape of any other error
a modelled call returns, so the case fails or errors with the reason and the host is untouched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from rthooks.oracle import state  # state imports this module too: names are read at call time

# The most one run may write, over all its files. The model's files are stand-ins of a few hundred
# bytes (profiles, traces, heap dumps, crash reports); 64 MiB is far above any case that means it,
# and still small enough that a case looping on writes cannot fill the disk of a CI runner that
# runs every case of the suite in parallel workers.
MAX_WRITE_BYTES = 64 << 20
# The most the model reads back from one file (the same bound: nothing larger can have come from it).
MAX_READ_BYTES = MAX_WRITE_BYTES

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def _refuse(op: str, name: str, why: str) -> state.StepError:
    return state.StepError(f"{op} {name}: refused by the oracle: {why}")


def _os_error(op: str, name: str, e: OSError) -> state.StepError:
    """An OSError as Go's *PathError prints it: "open x: no such file or directory"."""
    if e.errno == errno.ELOOP:
        return _refuse(op, name, "a component of the path is a symlink")
    if e.errno == errno.ENXIO:  # O_NONBLOCK write-open of a FIFO nobody reads
        return _refuse(op, name, "not a regular file")
    text = os.strerror(e.errno) if e.errno else str(e)
    return state.StepError(f"{op} {name}: {text[:1].lower()}{text[1:]}")


def _is_link(part: str, dfd: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(part, dir_fd=dfd).st_mode)
    except OSError:
        return False


class CaseFiles:
    """One run's access to its working directory, with the run's write budget."""

    def __init__(self, workdir: Path, max_write: int | None = None) -> None:
        self.workdir = workdir
        self.max_write = MAX_WRITE_BYTES if max_write is None else max_write
        self.written = 0

    def parts(self, name: str, op: str = "open") -> list[str]:
        """The path's components below the working directory, or a refusal."""
        if not isinstance(name, str):
            raise _refuse(op, repr(name), "a file name must be a string")
        if name == "":
            raise state.StepError(f"{op} : no such file or directory")
        if "\0" in name:
            raise state.StepError(f"{op} {name}: invalid argument")
        if os.path.isabs(name):
            raise _refuse(op, name, "an absolute path; a case names files in its working directory only")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise _refuse(op, name, "a '..' component; a case names files in its working directory only")
        if not parts:
            raise state.StepError(f"{op} {name}: is a directory")
        return parts

    def path(self, name: str) -> Path:
        """Where ``name`` is, after the checks that need no file system (see :meth:`parts`)."""
        return self.workdir.joinpath(*self.parts(name))

    def _open(self, name: str, flags: int, op: str) -> int:
        parts = self.parts(name, op)
        try:
            dfd = os.open(self.workdir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as e:
            raise _os_error(op, name, e) from None
        try:
            for part in parts[:-1]:
                try:
                    nfd = os.open(part, _DIR_FLAGS, dir_fd=dfd)
                except OSError as e:
                    if e.errno in (errno.ENOTDIR, errno.ELOOP) and _is_link(part, dfd):
                        raise _refuse(op, name, "a component of the path is a symlink") from None
                    raise
                os.close(dfd)
                dfd = nfd
            fd = os.open(parts[-1], flags | _FILE_FLAGS, 0o644, dir_fd=dfd)
        except OSError as e:
            raise _os_error(op, name, e) from None
        finally:
            os.close(dfd)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise _refuse(op, name, "not a regular file")
            if st.st_nlink > 1:
                raise _refuse(op, name, "a file with other names (hard links) may lie outside the working directory")
        except BaseException:
            os.close(fd)
            raise
        return fd

    def write(self, name: str, data: bytes, *, append: bool = False) -> None:
        """Create or replace (or append to) a regular file in the working directory."""
        op = "write"
        if self.written + len(data) > self.max_write:
            self.parts(name, op)  # a bad name is reported as such, not as a size problem
            raise state.StepError(
                f"{op} {name}: file too large (the oracle writes at most {self.max_write} bytes for one case)"
            )
        fd = self._open(name, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else 0), "open")
        try:
            if not append:
                os.ftruncate(fd, 0)  # only now: the file is known to be this directory's own
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                self.written += n
                view = view[n:]
        except OSError as e:
            raise _os_error(op, name, e) from None
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)

    def size(self, name: str) -> int:
        """A regular file's size in bytes, as ``os.Stat`` reports it (no read; nothing is created)."""
        fd = self._open(name, os.O_RDONLY, "stat")
        try:
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def read(self, name: str, limit: int = MAX_READ_BYTES) -> bytes:
        """A regular file's contents, refused past ``limit`` bytes."""
        fd = self._open(name, os.O_RDONLY, "open")
        try:
            if os.fstat(fd).st_size > limit:
                raise state.StepError(f"read {name}: file too large (the oracle reads at most {limit} bytes)")
            chunks: list[bytes] = []
            total = 0
            while chunk := os.read(fd, 1 << 20):
                total += len(chunk)
                if total > limit:  # grown since the fstat
                    raise state.StepError(f"read {name}: file too large (the oracle reads at most {limit} bytes)")
                chunks.append(chunk)
            return b"".join(chunks)
        except OSError as e:
            raise _os_error("read", name, e) from None
        finally:
            os.close(fd)
