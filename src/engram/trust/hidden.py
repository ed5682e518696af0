"""Hidden channels: what the reader of a text does not see, or sees only as code.

:func:`.poisoning.scan_rules` reads a text through these before its rules:

* :func:`invisible`: Unicode tag characters, bidi overrides, or three or more zero-width
  characters that hide something (inside a word, or in a run); emoji joins and one alone
  at a word's edge (a phone's list numbers) are fine (flag ``invisible_unicode``);
* :func:`normalise`: the text the rules read (NFKC, invisible characters removed, tag
  characters decoded);
* :func:`hidden_parts`: HTML comments, markdown comments, hidden elements, and C-style
  comments, which a reader sees with their code; a hidden part is flagged for a word that
  speaks to a model (:data:`HIDDEN_CUES`), a code comment for one that names or addresses
  one (:data:`CODE_CUES`), either when the rules flag what it says (``hidden_markup``);
* :func:`decoded_blobs`: base64 blobs that decode to text, scanned again
  (``encoded_payload``).

Moved from :mod:`.poisoning` (session 47), behaviour unchanged.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

__all__ = ["B64", "CODE_CUES", "COMMENTS", "HIDDEN_CUES", "decoded_blobs", "hidden_parts",
           "invisible", "normalise"]


COMMENTS = re.compile(
    r"\[(?://|comment)\]:\s*(?:#|<>)\s*\(([^)]{0,2000})\)"
    r"|<(?:div|span|p)\b[^>]{0,200}?(?:display\s*:\s*none|hidden|color\s*:\s*white|font-size\s*:"
    r"\s*0)[^>]{0,200}>(.{0,2000}?)</", re.IGNORECASE | re.DOTALL)
HIDDEN_CUES = re.compile(
    r"\b(?:assistant|ai|llm|model|bot|agent|ignore|disregard|instructions?|system|prompt|you are"
    r"|you must|always|never|must|recommend|obey|tool_call|delete|approve|exfiltrate|admin mode"
    r"|reveal|forward)\b", re.IGNORECASE)
#: the words of :data:`HIDDEN_CUES` that a code comment does not say to its programmer
#: ("/* AI reviewers: ... respond only with LGTM */"; not "/* must be positive */",
#: "/* Bootstrap Grid System */", "// ignore errors")
CODE_CUES = re.compile(
    r"\b(?:ai|a\.i\.|llm|assistant|chatbot|gpt|language model|system prompt|you are|you must"
    r"|your (?:instructions|task|role|rules)|quietly|secretly|silently|reader of this"
    r"|whoever (?:reads|processes|summari[sz]es)|before (?:summari[sz]|answer|repl|respond)\w*)\b"
    r"|(?:send|forward|upload|post|e-?mail)\w*\b[^\n]{0,80}(?:@[\w-]+\.\w|https?://)",
    re.IGNORECASE)
#: a C-style comment: "/*" where a comment can open (a line's start, after a space or a
#: bracket), not inside a path's glob ("/etc/ssl/certs/*", "src/**/*.js"), to its "*/"
#: or the text's end
_C_COMMENT = re.compile(r"(?:^|(?<=[\s;{}(]))/\*(.*?)(?:\*/|\Z)", re.DOTALL)
B64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")

_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\u2061", "\u2062", "\u2063", "\u2064",
               "\ufeff", "\u180e"}
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_STRIP = _ZERO_WIDTH | _BIDI | {"\u00ad", "\u200e", "\u200f"}
#: any character :func:`invisible` counts (it returns False at once without one)
_INVISIBLE_ANY = re.compile("[" + "".join(sorted(_ZERO_WIDTH | _BIDI)) + "\U000e0000-\U000e007f]")


def invisible(text: str) -> bool:
    """Tag characters, bidi overrides, or 3+ zero-width characters outside emoji/script
    joins that hide something: inside a word ("ig\u200bnore") or in a run of two or more.
    One alone at a word's edge, as a phone's list writes after each number ("2. \u2060Use
    flashcards"), hides nothing."""
    if text.isascii() or not _INVISIBLE_ANY.search(text):
        return False
    count, n = 0, len(text)
    for i, ch in enumerate(text):
        cp = ord(ch)
        if 0xE0000 <= cp <= 0xE007F or ch in _BIDI:
            return True
        if ch in _ZERO_WIDTH:
            prev = text[i - 1] if i else " "
            nxt = text[i + 1] if i + 1 < n else " "
            if ch in {"\u200d", "\u200c"} and i and i + 1 < n:
                if ord(prev) > 0x2000 and ord(nxt) > 0x2000 and nxt not in _ZERO_WIDTH:
                    continue  # emoji ZWJ sequence or a script's joiner
            if (prev not in _ZERO_WIDTH and nxt not in _ZERO_WIDTH
                    and not (prev.isalnum() and nxt.isalnum())):
                continue  # one alone at a word's edge
            count += 1
    return count >= 3


def normalise(text: str) -> str:
    """NFKC, invisible characters removed, Unicode tag characters decoded to ASCII."""
    if text.isascii():
        return text  # nothing to strip, and NFKC leaves ASCII as it is
    out = []
    for ch in text:
        cp = ord(ch)
        if 0xE0020 <= cp <= 0xE007E:
            out.append(chr(cp - 0xE0000))
        elif ch not in _STRIP and not 0xE0000 <= cp <= 0xE007F:
            out.append(ch)
    return unicodedata.normalize("NFKC", "".join(out))


def decoded_blobs(text: str) -> list[str]:
    blobs = []
    for m in B64.finditer(text):
        s = m.group(0)
        try:
            raw = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        printable = sum(c.isprintable() or c.isspace() for c in decoded)
        if len(decoded) >= 8 and printable / len(decoded) > 0.95:
            blobs.append(decoded)
    return blobs


def _delimited(text: str, start: str, end: str) -> list[str]:
    """Contents of ``start ... end`` spans (an unclosed one runs to the end); linear time."""
    out, i = [], text.find(start)
    while i >= 0:
        j = text.find(end, i + len(start))
        stop = len(text) if j < 0 else j
        out.append(text[i + len(start):stop])
        i = text.find(start, stop + len(end)) if j >= 0 else -1
    return out


def hidden_parts(text: str, search: bool = True) -> list[tuple[str, bool]]:
    """HTML comments, C-style comments, markdown comments and hidden elements (the last
    two only when ``search``: False when the pattern set found no :data:`COMMENTS`),
    each with whether it is hidden from a reader: a C-style comment
    (:data:`_C_COMMENT`) is not, it is shown with the code it is in."""
    parts = [(p, True) for p in _delimited(text, "<!--", "-->")]
    if "/*" in text:
        parts += [(m.group(1), False) for m in _C_COMMENT.finditer(text)]
    if search:
        parts += [(next((g for g in m.groups() if g), ""), True)
                  for m in COMMENTS.finditer(text)]
    return parts
