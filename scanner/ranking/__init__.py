"""Ranking: group candidates by device and choose the key that works today."""

from scanner.ranking.choose import choose_devices, rank_key

__all__ = ["choose_devices", "rank_key"]
