"""Diffs: a file's hunks as git prints them (`-U0` unified diff, raw bytes), and what they add.

A change keeps each file's hunks as one bytes object and turns them into `AddedLine`s only when a
check asks (`FileChange.added`, held by `AddedLines`): most files of a big diff are only ever
searched by the secret scanner, which works on these bytes directly (`HunkIndex` numbers what it
finds) and never needs a Python object per line. Past the reader's memory budget a file's lines
are not kept at all and `added_lines` reads them again from git, one file at a time.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import TYPE_CHECKING, NamedTuple

from guard import budget
from guard.errors import InternalError

if TYPE_CHECKING:
    from guard.model import Change, FileChange


class AddedLine(NamedTuple):
    """One added line. A tuple: a 100k-line diff holds hundreds of thousands of these."""

    number: int  # 1-based line number in the new version of the file
    text: str  # decoded with errors="replace"; never the raw bytes


class AddedLines:
    """A file's added lines: given as a list, or kept as raw hunks and parsed on first use.
    Shared by two FileChanges with the same diff (a commit's and the net diff's)."""

    __slots__ = ("lines", "patch")

    def __init__(self, lines: list[AddedLine] | None = None, patch: bytes | None = None) -> None:
        self.lines = lines
        self.patch = patch

    def get(self) -> list[AddedLine]:
        if self.lines is None:
            self.lines = added_from_patch(self.patch) if self.patch else []
        return self.lines


def added_lines(change: Change, f: FileChange) -> list[AddedLine]:
    """A file's added lines, re-read from git when the reader did not keep them (a huge diff):
    one file at a time, so a 100 MB diff is never held whole. Fails closed when it cannot."""
    if not f.spilled:
        return f.added
    reread = getattr(change.blobs, "added_lines", None)
    if reread is None:
        raise InternalError(f"the added lines of {f.path} were not kept and cannot be read again")
    lines: list[AddedLine] = reread(f)
    return lines


HUNK = re.compile(rb"@@@* -[0-9,]+ (?:-[0-9,]+ )*\+(\d+)(?:,\d+)? @@")  # matched at line starts


def added_from_patch(patch: bytes) -> list[AddedLine]:
    """Every `+` line of `patch` with its line number in the new file, decoded with replacement."""
    out: list[AddedLine] = []
    append = out.append
    line_no = 0
    in_hunk = False
    hunk = HUNK.match
    check = budget.check
    for n, line in enumerate(patch.split(b"\n")):
        if not n & 0xFFF:
            check("reading the diff")
        c = line[:1]
        if c == b"@":
            m = hunk(line)
            if m:
                in_hunk, line_no = True, int(m.group(1))
                continue
        if not in_hunk:
            continue
        if c == b"+":
            append(AddedLine(line_no, line[1:].rstrip(b"\r").decode("utf-8", "replace")))
            line_no += 1
        elif c == b" ":
            line_no += 1
    return out


def removed_in(patch: bytes) -> int:
    """How many `-` lines `patch` holds (hunk lines only: no `--- a/` file header in it)."""
    return patch.count(b"\n-") + patch.startswith(b"-")


class HunkIndex:
    """Where each hunk's content starts in a patch, to number lines found by a search of the bytes.
    Lines asked for in increasing order cost one pass over the patch in all (a cursor)."""

    def __init__(self, patch: bytes) -> None:
        self.patch = patch
        self.starts: list[int] = []  # offset of each hunk's first content line
        self.numbers: list[int] = []  # the new-file line number it starts at
        at = 0 if patch.startswith(b"@@") else patch.find(b"\n@@") + 1
        while at >= 0 and (at > 0 or patch.startswith(b"@@")):
            m = HUNK.match(patch, at)  # a header: only ever at a line start
            nl = patch.find(b"\n", at)
            if m:
                self.starts.append(nl + 1 if nl >= 0 else len(patch))
                self.numbers.append(int(m.group(1)))
            nxt = patch.find(b"\n@@", nl) if nl >= 0 else -1
            at = nxt + 1 if nxt >= 0 else -1
        self._cursor = (-1, 0, 0)  # (hunk, offset of a line start in it, its new-file number)

    def number_at(self, start: int) -> int | None:
        """The new-file line number of the `+` line starting at offset `start`; None if it is not one."""
        patch = self.patch
        if patch[start : start + 1] != b"+":
            return None
        h = bisect_right(self.starts, start) - 1
        if h < 0:
            return None
        hunk, at, number = self._cursor
        if hunk != h or at > start:
            at, number = self.starts[h], self.numbers[h]
        # Each `+` or context line between `at` and this one takes a new-file line.
        if at < start:
            number += patch.count(b"\n+", at, start) + patch.count(b"\n ", at, start)
            number += patch[at : at + 1] in (b"+", b" ")
        self._cursor = (h, start, number)
        return number
