"""Training sets from a curation run: face-cropped clips, face info, 16 kHz audio, the trainer's manifest.

`python -m talkvid_fast.prepare --run OUT --format vexpress|hallo|webdataset` (docs/prepare.md). Notes:
[Prepare dataflow] (`_source.py`), [Frame selection] and [Crop rules] (`_rules.py`), [Face rule]
(`_source.py`), [Trainer layouts] (`_layouts.py`), [Hallo masks] (`_masks.py`), [Prepare journal]
(`_driver.py`). Importing this package loads nothing heavy (the weight registry imports `weights`).
"""

from __future__ import annotations
