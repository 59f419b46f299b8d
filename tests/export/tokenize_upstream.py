"""Test fixture: OpenCLIP's own tokenizer (from the DiffBIR checkout REPO) on the texts of a JSON
list read from stdin; prints their 77-token ids as JSON.

    python3 tests/export/tokenize_upstream.py REPO < texts.json
"""

import importlib.util
import json
import os
import sys

path = os.path.join(sys.argv[1], "model", "open_clip", "tokenizer.py")
if not os.path.exists(path):
    path = os.path.join(sys.argv[1], "diffbir", "model", "open_clip", "tokenizer.py")
spec = importlib.util.spec_from_file_location("clip_tokenizer", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
texts = json.load(sys.stdin)
print(json.dumps(module.tokenize(texts).tolist()))
