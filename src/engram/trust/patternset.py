"""The rule patterns as one set: one pass over a text tells which can match (speed only).

The rules of :mod:`.poisoning` are some ninety regular expressions, each searched on its
own (after a literal gate), and a few more find the hidden parts and base64 blobs that
are scanned again. :class:`PatternSet` compiles them all, once, into one
`Hyperscan <https://www.hyperscan.io>`_ database (the optional ``hyperscan`` wheel) and
scans a text with it in one pass: :meth:`PatternSet.candidates` returns the indices of
the patterns that may match, and only those are then searched with :mod:`re`, which
still decides (and gives the evidence). Verdicts are the same with or without it.

Why a superset, never fewer:

* each pattern is compiled in Hyperscan's prefilter mode (``HS_FLAG_PREFILTER``): what it
  cannot express exactly (look-arounds) it widens, so it reports every text the exact
  pattern matches, and maybe more;
* bounded repeats are widened before that (``{0,80}`` -> ``*``, ``{2,5}`` -> ``{2,}``):
  a superset again, and a database many times smaller and faster to compile;
* it is used only for text whose characters Python's ``re`` and PCRE read the same way:
  ASCII (``\\w``, ``\\b``, ``\\d`` and case are then the same in both) but for
  ``\\x0b``, ``\\x0c`` and ``\\x1c``-``\\x1f`` (``\\s`` to Python, not to PCRE),
  and other characters only when they are marks without case (curly quotes, dashes,
  emoji: not ``\\w``, not ``\\s`` to either). Other text (a letter with an accent, a
  Greek sigma: about one BEAM user turn in 150) takes the rules' usual path:
  :meth:`candidates` returns None.

A pattern Hyperscan cannot compile is left out: :meth:`candidates` never names it, and
:attr:`PatternSet.missing` lists it for the caller to search as before.

Compiling takes a few seconds, so it is never done on the writing thread: after
:data:`WARMUP` texts the first call starts it on a daemon thread (``engram serve`` starts
it at once: a server scans every write), and until it is done
(or when the wheel is absent or the CPU unsupported) :meth:`candidates` returns None.
:meth:`build` compiles at once (tests, tools). Scanning is thread-safe (one scratch
space per thread).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["WARMUP", "PatternSet", "loosen"]

#: texts scanned before the database is compiled: a process that writes a few messages
#: (a CLI call) never pays for it; a server or an import does after this many
WARMUP = 200
#: characters that ``\s`` reads differently in Python and in PCRE
_ODD_SPACE = re.compile(r"[\x0b\x0c\x1c-\x1f]")
_DIGITS = re.compile(r"\d*")


def loosen(source: str) -> str:
    """``source`` with every bounded repeat made open (``{m,n}`` and ``{,n}`` -> ``{m,}``,
    ``*`` or ``+``): the pattern then matches a superset. Character classes and escaped
    braces are left as they are; ``{n}`` stays."""
    out: list[str] = []
    i, n, in_class = 0, len(source), False
    while i < n:
        ch = source[i]
        if ch == "\\":
            out.append(source[i:i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if source[i:i + 1] == "^":  # a ']' first in a class is a literal
                out.append("^")
                i += 1
            if source[i:i + 1] == "]":
                out.append("]")
                i += 1
            continue
        elif ch == "{":
            lo = _DIGITS.match(source, i + 1)
            assert lo is not None
            hi = _DIGITS.match(source, lo.end() + 1)
            assert hi is not None
            if source[lo.end():lo.end() + 1] == "," and hi.group() and \
                    source[hi.end():hi.end() + 1] == "}":
                m = int(lo.group() or 0)
                out.append("*" if m == 0 else "+" if m == 1 else f"{{{m},}}")
                i = hi.end() + 1
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _plain_marks(chars: set[str]) -> bool:
    """Whether every one of ``chars`` is a mark that ``re`` and PCRE read alike: no letter
    or digit (``\\w`` to Python, not to PCRE without Unicode properties), no space, no
    case (curly quotes, dashes, emoji, symbols)."""
    return not any(c.isalnum() or c.isspace() or c.lower() != c or c.upper() != c
                   for c in chars)


def _on_match(index: int, _start: int, _end: int, _flags: int, found: set[int]) -> None:
    found.add(index)


class PatternSet:
    """The patterns of one rule table, compiled together (see the module docstring).

    ``patterns[i]`` is reported as ``i``. States: ``idle`` (counting texts), ``building``,
    ``ready``, ``unavailable`` (no wheel, an unsupported CPU, or compiling failed)."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self.patterns = tuple(patterns)
        #: indices of the patterns Hyperscan could not compile (never reported)
        self.missing: frozenset[int] = frozenset()
        #: why compiling failed, when it did for another reason than a missing wheel
        self.error: BaseException | None = None
        self.state = "idle"
        #: False: :meth:`candidates` answers None (a benchmark's "without" side)
        self.enabled = True
        self._seen = 0
        self._db: Any = None
        self._scratch: Any = None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._done = threading.Event()

    def candidates(self, text: str) -> set[int] | None:
        """The indices of the patterns that may match ``text`` (a superset of those that
        do, :attr:`missing` aside), or None when the set cannot answer for it (not
        compiled yet, or text it does not read as ``re`` does)."""
        if self.state != "ready" or not self.enabled:
            if self.state == "idle":
                self._seen += 1
                if self._seen >= WARMUP:
                    self.start()
            return None
        if _ODD_SPACE.search(text):
            return None
        if text.isascii():
            data = text.encode("ascii")
        else:
            if not _plain_marks({c for c in set(text) if c > "\x7f"}):
                return None
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate
                return None
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._scratch.clone()
        found: set[int] = set()
        try:
            self._db.scan(data, match_event_handler=_on_match, context=found, scratch=scratch)
        except Exception:  # speed only: the rules then search as usual  # noqa: BLE001
            return None
        return found

    def start(self) -> None:
        """Compile on a daemon thread (once); :meth:`candidates` answers when it is done."""
        if self._claim():
            threading.Thread(target=self._compile, name="engram-patternset",
                             daemon=True).start()

    def build(self) -> bool:
        """Compile now, on this thread (once; or wait for the thread compiling it); whether
        the set is ready."""
        if self._claim():
            self._compile()
        self._done.wait()
        return self.state == "ready"

    def _claim(self) -> bool:
        """Move ``idle`` to ``building``; whether this call did (and so compiles)."""
        with self._lock:
            if self.state != "idle":
                return False
            self.state = "building"
            return True

    def _compile(self) -> None:
        try:
            self.state = self._load()
        except Exception as e:  # speed only: any failure leaves the usual path  # noqa: BLE001
            self.error = e
            self.state = "unavailable"
        finally:
            self._done.set()

    def _load(self) -> str:
        try:
            import hyperscan
        except ImportError:
            return "unavailable"
        db, missing = _database(hyperscan, self.patterns)  # an error: see _compile
        self._db, self._scratch, self.missing = db, hyperscan.Scratch(db), missing
        return "ready"


def _flags(hs: Any, pattern: re.Pattern[str]) -> int:
    f: int = hs.HS_FLAG_PREFILTER | hs.HS_FLAG_UTF8 | hs.HS_FLAG_SINGLEMATCH | hs.HS_FLAG_ALLOWEMPTY
    if pattern.flags & re.IGNORECASE:
        f |= hs.HS_FLAG_CASELESS
    if pattern.flags & re.DOTALL:
        f |= hs.HS_FLAG_DOTALL
    if pattern.flags & re.MULTILINE:
        f |= hs.HS_FLAG_MULTILINE
    return f


def _database(hs: Any, patterns: tuple[re.Pattern[str], ...]) -> tuple[Any, frozenset[int]]:
    """One block-mode database of ``patterns`` and the indices left out: all of them at
    once; when that fails, each alone first to find the ones Hyperscan rejects."""
    keep = [i for i, p in enumerate(patterns) if not p.flags & re.VERBOSE]

    def compile_(ids: list[int]) -> Any:
        db = hs.Database(mode=hs.HS_MODE_BLOCK)
        db.compile(expressions=[loosen(patterns[i].pattern).encode("utf-8") for i in ids],
                   ids=ids, elements=len(ids), flags=[_flags(hs, patterns[i]) for i in ids])
        return db

    try:
        db = compile_(keep)
    except hs.error:
        good = []
        for i in keep:
            try:
                compile_([i])
            except hs.error:
                continue
            good.append(i)
        keep = good
        db = compile_(keep)
    return db, frozenset(range(len(patterns))) - frozenset(keep)
