"""A file's hunks as git prints them (`-U0` unified diff, raw bytes), and what they add.

A change keeps each file's hunks as one bytes object and turns them into `AddedLine`s only when a
check asks (see `FileChange.added`): most files of a big diff are only ever searched by the secret
scanner, which works on these bytes directly and never needs a Python object per line.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from guard import budget
from guard.model import AddedLine

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
