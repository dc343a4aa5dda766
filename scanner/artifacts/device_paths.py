"""Where a file lived on the phone, and which app it belonged to.

Backups name files their own way (``apps/<pkg>/db/x`` in an adb backup,
``data/data/<pkg>/...`` in TWRP, ``Android/data/<pkg>/...`` in a storage zip). Mapping
them all to device paths lets one set of extractors serve every container.
"""

from __future__ import annotations

import re

from scanner.vocab.keys import LOOKALIKE_APPS, WEARABLE_APPS

_PACKAGE = r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+"
# Path prefixes after which the next segment is a package name.
_PACKAGE_AFTER = re.compile(
    r"(?:^|/)(?:data/data|data/user(?:_de)?/\d+|Android/(?:data|obb|media)|apps)/("
    + _PACKAGE
    + r")(?:/|$)"
)

# adb backup domains (AOSP FullBackup) -> where they live under the app's data root.
ADB_DOMAINS: dict[str, str] = {
    "a": "/data/app/{pkg}",
    "obb": "/sdcard/Android/obb/{pkg}",
    "f": "/data/data/{pkg}/files",
    "db": "/data/data/{pkg}/databases",
    "sp": "/data/data/{pkg}/shared_prefs",
    "c": "/data/data/{pkg}/cache",
    "nb": "/data/data/{pkg}/no_backup",
    "r": "/data/data/{pkg}",
    "d_f": "/data/user_de/0/{pkg}/files",
    "d_db": "/data/user_de/0/{pkg}/databases",
    "d_sp": "/data/user_de/0/{pkg}/shared_prefs",
    "d_c": "/data/user_de/0/{pkg}/cache",
    "d_nb": "/data/user_de/0/{pkg}/no_backup",
    "d_r": "/data/user_de/0/{pkg}",
    "ef": "/sdcard/Android/data/{pkg}/files",
    "k": "/data/data/{pkg}/key_value",
}


def adb_member_to_device_path(member: str) -> str | None:
    """``apps/<pkg>/db/x`` -> ``/data/data/<pkg>/databases/x``; ``shared/0/x`` -> ``/sdcard/x``."""
    parts = member.lstrip("/").split("/")
    if len(parts) >= 3 and parts[0] == "shared":
        return "/sdcard/" + "/".join(parts[2:])
    if len(parts) >= 3 and parts[0] == "apps":
        pkg, domain, rest = parts[1], parts[2], parts[3:]
        if domain == "_manifest" and not rest:
            return f"/data/data/{pkg}/_manifest"
        root = ADB_DOMAINS.get(domain)
        if root is not None:
            return "/".join([root.format(pkg=pkg), *rest])
    return None


# Top-level folders of shared storage: a zip of /sdcard starts with these.
_SDCARD_TOP_FOLDERS = frozenset(
    {"Android", "Download", "DCIM", "Documents", "MIUI", "Pictures", "TWRP", "freemyband"}
)


def storage_member_to_device_path(member: str) -> str | None:
    """Map a path from a TWRP data tar or a storage export to a device path.

    ``data/data/<pkg>/x`` stays; ``data/media/0/x`` and ``sdcard/x`` and ``storage/emulated/0/x``
    become ``/sdcard/x``; a bugreport's ``FS/data/...`` loses its ``FS`` prefix.
    """
    path = member.replace("\\", "/")
    while path.startswith(("./", "/")):
        path = path[2:] if path.startswith("./") else path[1:]
    if path.startswith("../") or "/../" in path:
        return None  # a hostile or odd name: no claim about where it lived
    if path.startswith("FS/"):
        path = path[3:]
    for prefix in ("data/media/0/", "storage/emulated/0/", "sdcard/", "media/0/"):
        if path.startswith(prefix):
            return "/sdcard/" + path[len(prefix) :]
    if path.startswith("data/"):
        return "/" + path
    if path.split("/", 1)[0] in _SDCARD_TOP_FOLDERS:
        return "/sdcard/" + path
    return None


def member_device_path(member: str) -> str | None:
    """Where a member of a backup tar or zip lived on the phone, when its name tells."""
    return adb_member_to_device_path(member) or storage_member_to_device_path(member)


def app_of(*paths: str | None) -> str | None:
    """The package a file belongs to, from any of its paths (device path first)."""
    for path in paths:
        if not path:
            continue
        match = _PACKAGE_AFTER.search(path.replace("\\", "/"))
        if match:
            return match.group(1)
        for app in WEARABLE_APPS | LOOKALIKE_APPS:
            if f"/{app}/" in f"/{path}/" or f"({app})" in path:
                return app
    return None
