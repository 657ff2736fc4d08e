#!/usr/bin/env python
"""Extract the public pages' messages, write translations/en/LC_MESSAGES/messages.po from translations/en.py and
compile messages.mo (committed, so installs need no build step). Exits 1 if a message has no English."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from en import EN  # noqa: E402

pot = HERE / "messages.pot"
subprocess.run([str(Path(sys.executable).parent / "pybabel"), "--quiet", "extract", "-F", str(HERE / "babel.cfg"),
                "-k", "_", "-k", "gettext", "--no-location", "--omit-header", "-o", str(pot), "."], cwd=ROOT, check=True)
with pot.open("rb") as fh:
    catalog = read_po(fh, locale="en")
missing = []
for message in catalog:
    if message.id:
        message.string = EN.get(message.id, "")
        if not message.string:
            missing.append(message.id)
out = HERE / "en" / "LC_MESSAGES"
out.mkdir(parents=True, exist_ok=True)
with (out / "messages.po").open("wb") as fh:
    write_po(fh, catalog, omit_header=False, no_location=True)
with (out / "messages.mo").open("wb") as fh:
    write_mo(fh, catalog)
pot.unlink()
if missing:
    sys.exit("no English for: " + "; ".join(missing))
print(f"{len(catalog) - 1} messages compiled")
