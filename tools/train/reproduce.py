"""Reproduce a shipped built-in model from scratch in one command: gather the data, train with
the command its manifest records (resumable: run it again after an interruption), export it with
the manifest's defaults, and compare the result with the shipped file. A model trained in stages
records one command per stage, joined by ' && ' (stage i writes RUN.i, the last RUN).

    python3 tools/train/reproduce.py unet [--runs runs] [--out runs/export]

Exported weights match the shipped ones when PyTorch computes the same floats (same version,
thread count and CPU); otherwise they differ in the last bits and the script says so.
"""

import argparse
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help="unet, unet_edge or irsde (a file in model/builtin/)")
    ap.add_argument("--runs", default="runs", help="where the run folders go")
    ap.add_argument("--out", default=None, help="where the export goes (default RUNS/export)")
    args = ap.parse_args()
    manifest_path = os.path.join(REPO, "model", "builtin", f"{args.name}.json")
    if not os.path.exists(manifest_path):
        raise SystemExit(f"error: no shipped model {manifest_path}")
    manifest = json.load(open(manifest_path))
    t = manifest["training"]
    run = os.path.join(args.runs, args.name)
    subprocess.run([sys.executable, os.path.join(HERE, "data.py")], check=True)
    # one command per stage; RUN names the last stage's folder, RUN.i an earlier stage's
    for command in t["command"].split(" && "):
        train = [re.sub(r"^RUN(?=$|[./])", lambda _: run, w) for w in shlex.split(command)]
        train[0] = sys.executable
        train[1] = os.path.join(REPO, train[1])
        subprocess.run(train, check=True)
    out = args.out or os.path.join(args.runs, "export")
    export = [sys.executable, os.path.join(HERE, "export_builtin.py"), "--run", run, "--name",
              args.name, "--out", out, "--probe", out, "--description", manifest["description"]]
    d = manifest.get("defaults", {})
    if manifest["kind"] == "ddpm":
        export += ["--steps", str(d["steps"]), "--eta", str(d["eta"]),
                   "--task-defaults", json.dumps(d.get("tasks", {}))]
    else:
        export += ["--solver", d.get("solver", "sde")]
    subprocess.run(export, check=True)
    got = hashlib.sha256(open(os.path.join(out, f"{args.name}.onnx"), "rb").read()).hexdigest()
    same = got == manifest["sha256"]
    print(f"{args.name}: sha256 {got} ({'the shipped file' if same else 'differs from the shipped ' + manifest['sha256']})")


if __name__ == "__main__":
    main()
