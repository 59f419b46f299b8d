"""Gather the training photos named in tools/train/data_list.json into one folder: files from this
repository, and files from Debian packages fetched with `apt-get download` (no other network).
Each file is checked against its sha256; a mismatch is one error line and exit 1.

    python3 tools/train/data.py [--out ~/.cache/diffrestore/train-data]
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LIST = os.path.join(HERE, "data_list.json")
DEFAULT_OUT = os.path.join(os.path.expanduser("~"), ".cache", "diffrestore", "train-data")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_list_sha256():
    """The pedigree's data hash: the list file's own sha256."""
    return sha256_file(LIST)


def read_list():
    with open(LIST) as f:
        return json.load(f)


def photo_path(out, photo):
    ext = os.path.splitext(photo["source"])[1]
    return os.path.join(out, photo["name"] + ext)


def _fetch_package(name, version, workdir):
    """apt-get download NAME=VERSION, unpacked into workdir/NAME."""
    subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL)
    deb = next(f for f in os.listdir(workdir) if f.startswith(name + "_") and f.endswith(".deb"))
    dest = os.path.join(workdir, name)
    subprocess.run(["dpkg-deb", "-x", os.path.join(workdir, deb), dest], check=True)
    return dest


def gather(out, names=None):
    """Copy the listed photos (all, or those named) into `out`, skipping those already there
    with the right hash; returns them with their paths."""
    spec = read_list()
    photos = [p for p in spec["photos"] if names is None or p["name"] in names]
    os.makedirs(out, exist_ok=True)
    missing = [p for p in photos
               if not (os.path.exists(photo_path(out, p)) and
                       sha256_file(photo_path(out, p)) == p["sha256"])]
    with tempfile.TemporaryDirectory() as work:
        unpacked = {}
        for p in missing:
            kind, _, rest = p["source"].partition(":")
            if kind == "repo":
                src = os.path.join(REPO, rest)
            else:
                pkg, _, inner = rest.partition(":")
                if pkg not in unpacked:
                    print(f"data: apt-get download {pkg}={spec['packages'][pkg]}", file=sys.stderr)
                    unpacked[pkg] = _fetch_package(pkg, spec["packages"][pkg], work)
                src = os.path.join(unpacked[pkg], inner)
            got = sha256_file(src)
            if got != p["sha256"]:
                raise SystemExit(f"error: {p['source']}: sha256 {got}, the list says {p['sha256']}")
            tmp = photo_path(out, p) + ".part"
            shutil.copyfile(src, tmp)
            os.replace(tmp, photo_path(out, p))
    return [dict(p, path=photo_path(out, p)) for p in photos]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    photos = gather(args.out)
    for p in photos:
        print(f"{p['split']:8s} {p['name']:12s} {p['path']}")
    print(f"data list sha256 {data_list_sha256()}")


if __name__ == "__main__":
    main()
