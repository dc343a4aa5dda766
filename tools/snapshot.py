"""Record the ``--json`` document of every corpus input and every mutated input.

The hostile shapes of issue 16 (``corpus/hostile.py``) are recorded whole (``hostile.txt``)
and are mutated with the rest. A refactoring that changes no behaviour must leave this
output identical, byte for byte::

    python tools/snapshot.py OUT_DIR        # before
    python tools/snapshot.py OUT_DIR2       # after
    diff -r OUT_DIR OUT_DIR2

Absolute paths (the temp folder) and times taken from the file system are normalised.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus.hostile import ODD_PASSWORD, build_hostile, remove_tree
from scanner.context import ScanOptions
from scanner.pipeline import scan
from scanner.reports.json_report import to_dict
from tools import mutate


def _normalised(document: dict[str, object], temp: str) -> str:
    text = json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True)
    text = text.replace(temp, "<tmp>")
    data = json.loads(text)
    # File times of inputs written by the run itself: wherever a time is given (a
    # candidate, a device, each sighting a candidate keeps in "seen").
    timed = [*data["candidates"], *data["devices"]]
    timed += [seen for candidate in data["candidates"] for seen in candidate.get("seen", [])]
    for record in timed:
        if "mtime" in (record.get("timestamp_source") or ""):
            record["timestamp"] = "<mtime>"
    text = json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True)
    return re.sub(r"mutate-\w+|tmp\w{8}", "<tmp>", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from corpus.build import build_corpus

    with tempfile.TemporaryDirectory(prefix="snapshot-") as temp:
        corpus = Path(temp) / "corpus"
        build_corpus(corpus)
        passwords = (corpus / "passwords.txt").read_text("utf-8").splitlines()
        whole = scan([corpus], ScanOptions(passwords=list(passwords)))
        (args.out / "corpus.json").write_text(_normalised(to_dict(whole), temp), "utf-8")

        hostile = Path(temp) / "hostile"
        shapes = build_hostile(hostile)
        recorded = []
        for shape in shapes:
            options = ScanOptions(passwords=list(shape.passwords))
            doc = _normalised(to_dict(scan([hostile / shape.name], options)), temp)
            recorded.append(
                f"### {shape.family}: {shape.name}, {len(shape.passwords)} passwords\n{doc}"
            )
        # A name that is not UTF-8 is a lone surrogate (PEP 383), written as its escape.
        text = "\n".join(recorded)
        (args.out / "hostile.txt").write_text(text, "utf-8", errors="backslashreplace")

        seeds = mutate.seeds_below(corpus, "corpus/")
        files = sorted({s.name for s in shapes if (hostile / s.name).is_file()})
        shaped = [mutate.Seed(f"hostile/{n}", n, (hostile / n).read_bytes()) for n in files]
        real = Path(__file__).resolve().parents[2] / "shared" / "samples" / "real"
        if real.is_dir():
            seeds += mutate.seeds_below(real, "real/")
        passwords += list(mutate.REAL_PASSWORDS)
        lines: list[str] = []
        original = mutate.check

        def recording(figures, label, seed, data, workdir, pw):  # type: ignore[no-untyped-def]
            result = original(figures, label, seed, data, workdir, pw)
            doc = to_dict(result) if result is not None else {"crash": True}
            body = _normalised(doc, temp) if result is not None else "CRASH"
            lines.append(f"### {label}\n{body}")
            return result

        mutate.check = recording  # type: ignore[assignment]
        figures = mutate.run(seeds, passwords, Path(temp) / "work", rounds=args.rounds)
        # A run of their own: the corpus's and the samples' lines stay as they were.
        shaped_figures = mutate.run(shaped, [ODD_PASSWORD], Path(temp) / "work", args.rounds)
        mutate.check = original  # type: ignore[assignment]
        remove_tree(hostile)  # TemporaryDirectory's clean-up recurses into the deep folders
    (args.out / "mutations.txt").write_text("\n".join(lines), "utf-8", errors="backslashreplace")
    print(figures.summary())
    print(f"hostile shapes ({len(shapes)} recorded whole): {shaped_figures.summary()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
