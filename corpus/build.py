"""Build the whole corpus: one line per sample family."""

from __future__ import annotations

from pathlib import Path

from corpus.common import Expected
from corpus.samples import (
    adb_backups,
    app_data,
    archives,
    decoys,
    deleted_records,
    gadgetbridge,
    handed_over,
    huami_token_runs,
    log_bundle,
    mi_fitness,
    miui_backup,
    neo_backup,
    raw_image,
    server_answer,
    text_logs,
    twrp,
)

BUILDERS = [
    app_data,
    mi_fitness,
    log_bundle,
    gadgetbridge,
    server_answer,
    huami_token_runs,
    text_logs,
    decoys,
    deleted_records,
    handed_over,
    adb_backups,
    miui_backup,
    twrp,
    neo_backup,
    archives,
    raw_image,
]


def build_corpus(dest: Path) -> list[Expected]:
    """Write every sample below ``dest`` and return what each must scan to."""
    dest.mkdir(parents=True, exist_ok=True)
    expected: list[Expected] = []
    for builder in BUILDERS:
        expected.extend(builder.build(dest))
    passwords = sorted({p for e in expected for p in e.passwords})
    (dest / "passwords.txt").write_text("".join(p + "\n" for p in passwords), encoding="utf-8")
    return expected
