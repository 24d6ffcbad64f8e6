"""The git reader on real repositories, and its parsers fuzzed with arbitrary bytes."""

from __future__ import annotations

import io
import subprocess

import pytest
from gitutil import Repo
from hypothesis import given
from hypothesis import strategies as st

from guard.errors import InternalError
from guard.git.parse import (
    LOG_PATCH_ARGS,
    Reader,
    looks_like_text,
    parse_log_patches,
    parse_patches,
    parse_raw_commit,
    parse_raw_entries,
)
from guard.git.repo import GitRepo
from guard.model import FileChange


def test_added_lines_carry_new_line_numbers(repo: Repo) -> None:
    repo.commit("base", files={"f.txt": "a\nb\nc\nd\n"})
    base = repo.head()
    repo.commit("edit", files={"f.txt": "a\nNEW1\nb\nc\nNEW2\nd\nNEW3\n"})
    f = GitRepo(repo.path).build_change(base, "HEAD").files[0]
    assert [(a.number, a.text) for a in f.added] == [(2, "NEW1"), (5, "NEW2"), (7, "NEW3")]


def test_per_commit_files_and_range_files(repo: Repo) -> None:
    base = repo.head()
    c1 = repo.commit("one", files={"x.txt": "secret-ish\n"})
    repo.git("rm", "-q", "x.txt")
    c2 = repo.commit("two")
    change = GitRepo(repo.path).build_change(base, "HEAD")
    assert change.files == []  # added then removed: nothing in the net diff...
    per = {c.sha: [(f.path, f.status) for f in c.files] for c in change.commits}
    assert per == {c1: [("x.txt", "added")], c2: [("x.txt", "deleted")]}  # ...but history keeps it


def test_metadata_trailers_and_signature_presence(repo: Repo) -> None:
    repo.commit(
        "subj\n\nbody\n\nCo-authored-by: X <x@example.com>",
        files={"a": "1\n"},
        author=("Ann", "ann@example.com"),
        committer=("Cee", "cee@example.com"),
    )
    c = next(GitRepo(repo.path).iter_commits(["HEAD"]))
    assert (c.author.name, c.committer.email, c.subject) == ("Ann", "cee@example.com", "subj")
    assert c.trailers == (("Co-authored-by", "X <x@example.com>"),) and c.signed is False


def test_unknown_revision_is_a_usage_error(repo: Repo) -> None:
    from guard.errors import UsageError

    with pytest.raises(UsageError, match="unknown head 'nope'"):
        GitRepo(repo.path).resolve("nope", "head")
    with pytest.raises(UsageError, match="invalid revision"):
        GitRepo(repo.path).resolve("--output=/tmp/x")


def test_shallow_clone_missing_base_says_so(repo: Repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        repo.commit(f"c{i}", files={f"{i}.txt": "x\n"})
    clone = tmp_path / "shallow"
    repo.git("clone", "-q", "--depth=1", f"file://{repo.path}", str(clone))
    from guard.errors import UsageError

    with pytest.raises(UsageError, match="shallow clone"):
        GitRepo(clone).build_change("HEAD~2", "HEAD")


@given(st.binary(max_size=3000))
def test_raw_commit_parser_never_crashes(data: bytes) -> None:
    c = parse_raw_commit(b"commit " + data)
    assert isinstance(c.message, str)


@given(st.binary(max_size=3000))
def test_diff_parsers_never_crash(data: bytes) -> None:
    r = Reader(data)
    try:
        files = parse_raw_entries(r)
    except InternalError:
        return
    parse_patches(r, files)
    for f in files:
        assert all(a.number >= 0 for a in f.added)


@given(
    st.lists(
        st.sampled_from(
            [
                b"diff --git a b",
                b"@@ -1 +1,2 @@",
                b"+x",
                b"-y",
                b"Binary files a b differ",
                b"@@@ -1 -1 +1 @@@",
                b"\\ No newline",
                b"",
                b"+\xff\xfe",
            ]
        ),
        max_size=60,
    )
)
def test_patch_parser_on_patch_shaped_noise(lines: list[bytes]) -> None:
    files = [FileChange(path=f"f{i}", status="modified") for i in range(5)]
    parse_patches(Reader(b"\n".join(lines)), files)
    assert sum(len(f.added) for f in files) <= sum(1 for ln in lines if ln.startswith(b"+"))


@given(st.binary(max_size=2000))
def test_looks_like_text_is_total(data: bytes) -> None:
    assert looks_like_text(data) in (True, False)


class _Chunky(io.RawIOBase):
    """Real bytes handed out in the given read sizes, as a pipe does (not a stand-in for git)."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self.data, self.sizes, self.pos = data, sizes or [1], 0

    def read(self, n: int = -1) -> bytes:
        size = self.sizes[self.pos % len(self.sizes)] if self.pos < len(self.data) else 0
        out = self.data[self.pos : self.pos + min(size, n if n > 0 else size)]
        self.pos += len(out)
        return out


@pytest.fixture(scope="module")
def log_output(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    repo = Repo(tmp_path_factory.mktemp("log") / "r")
    repo.commit("one", files={"a.txt": "x\n" * 50, "we ird\nname": "\x01PGC not a marker\n"})
    repo.commit("two", files={"a.txt": "y\n" * 10 + "+looks like a marker\n\x01PGCdeadbeef\n"})
    repo.commit("empty", allow_empty=True)
    repo.git("mv", "a.txt", "b.txt")
    repo.commit("rename")
    return subprocess.run(["git", *LOG_PATCH_ARGS], cwd=repo.path, capture_output=True, check=True).stdout


def _summary(r: Reader) -> list[tuple[str, list[tuple[str, str, list[tuple[int, str]]]]]]:
    return [(sha, [(f.path, f.status, list(f.added)) for f in files]) for sha, files in parse_log_patches(r)]


@given(st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=20))
def test_streamed_parse_equals_whole_buffer_parse(log_output: bytes, sizes: list[int]) -> None:
    whole = _summary(Reader(log_output))
    assert len(whole) == 4 and any(f[0] == "we ird\nname" for f in whole[-1][1])
    streamed = _summary(Reader(stream=_Chunky(log_output, sizes)))  # type: ignore[arg-type]
    assert streamed == whole


def test_net_files_share_a_commits_identical_diff(repo: Repo) -> None:
    base = repo.head()
    c1 = repo.commit("one", files={"a.txt": "1\n2\n"})
    repo.commit("two", files={"b.txt": "x\n", "a.txt": "1\n2\n"})  # a.txt untouched by two
    change = GitRepo(repo.path).build_change(base, "HEAD")
    net = {f.path: f for f in change.files}
    first = next(f for f in change.commit(c1).files if f.path == "a.txt")  # type: ignore[union-attr]
    assert net["a.txt"].added is first.added  # one list, not two copies
    assert [a.text for a in net["b.txt"].added] == ["x"]


def test_net_files_of_a_file_touched_twice_are_its_real_net_diff(repo: Repo) -> None:
    base = repo.head()
    repo.commit("one", files={"a.txt": "1\n"})
    repo.commit("two", files={"a.txt": "1\n2\n"})
    change = GitRepo(repo.path).build_change(base, "HEAD")
    assert [(a.number, a.text) for a in change.files[0].added] == [(1, "1"), (2, "2")]
    assert [[a.text for f in c.files for a in f.added] for c in change.commits] == [["2"], ["1"]]
