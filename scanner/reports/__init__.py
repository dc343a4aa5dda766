"""Reports: what the user reads (a rich table) and what scripts read (the JSON contract)."""

from scanner.reports.json_report import to_json, write_json
from scanner.reports.table import print_report

__all__ = ["print_report", "to_json", "write_json"]
