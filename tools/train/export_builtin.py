"""Export a trained checkpoint as a built-in model: ONNX (opset 17, float16 weights, any image
size) with its manifest and pedigree (training command, seed, iterations, minutes, the data list's
sha256, the file's own sha256), and a small probe for the tests (docs/builtin_models.md).

    python3 tools/train/export_builtin.py --run runs/quality --name unet --steps 50 --eta 0.85
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "export"))
import _common  # noqa: E402
import nets  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))


def command_of(args, out="RUN", init=None):
    """The training command a checkpoint's arguments stand for, writing to the run folder `out`
    and starting from the run folder `init` (a second stage), as reproduce.py names them."""
    keys = ["kind", "arch", "iters", "seed", "batch", "crop", "lr", "ema", "threads"]
    keys += ["sigma", "T", "max_sigma", "irsde_loss"] if args["kind"] == "irsde" else ["uniform_share"]
    flags = " ".join(f"--{k.replace('_', '-')} {args[k]}" for k in keys)
    # runs from before --splits trained on the split 'train' alone
    if args.get("splits", "train") != "train":
        flags += f" --splits {args['splits']}"
    start = f" --init-from {init}/checkpoint.pt" if init else ""
    return f"python3 tools/train/train.py {flags}{start} --out {out}"


def load_ema(run):
    ck = torch.load(os.path.join(run, "checkpoint.pt"))
    a = ck["args"]
    if ck["state"]["iter"] < a["iters"]:
        raise SystemExit(f"error: {run} stopped at {ck['state']['iter']} of {a['iters']} iterations")
    return ck


def ddpm_model(ck):
    net = nets.Denoiser(nets.make_unet(ck["args"]["arch"]))
    net.load_state_dict(ck["ema"])
    return nets.DdpmEps(net).eval()


def irsde_model(ck):
    a = ck["args"]
    net = nets.IrsdeNoise(nets.make_unet(a["arch"], cin=6), a["T"])
    net.load_state_dict(ck["ema"])
    return net.eval()


def ddpm_export(model):
    """The DDPM noise predictor's export: its probe inputs, names and manifest fields."""
    x = torch.randn(1, 3, 23, 37, generator=torch.Generator().manual_seed(1))
    return {
        "args": [x, torch.tensor([400.0])],
        "inputs": ["x", "t"],
        "output": "eps",
        "axes": {"x": {0: "n", 2: "h", 3: "w"}, "t": {0: "n"}, "eps": {0: "n", 2: "h", 3: "w"}},
        "manifest": {
            "kind": "ddpm",
            "inputs": {"x": "x", "t": "t"},
            "output": "eps",
            "prediction": "eps",
            "timestep": {"dtype": "float32"},
            "range": [-1, 1],
            "channels": 3,
            "schedule": {"beta": "linear", "betaStart": 0.0001, "betaEnd": 0.02,
                         "trainSteps": 1000},
        },
        "module": model,
        "core": model.denoiser,
    }


def irsde_export(model, a):
    """IR-SDE's conditional noise network: x_t, mu and the integer step t, in [0,1] units."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 23, 37, generator=g)
    mu = x + 0.1 * torch.randn(1, 3, 23, 37, generator=g)
    return {
        "args": [x, mu, torch.tensor([7.0])],
        "inputs": ["x", "mu", "t"],
        "output": "noise",
        "axes": {"x": {0: "n", 2: "h", 3: "w"}, "mu": {0: "n", 2: "h", 3: "w"}, "t": {0: "n"},
                 "noise": {0: "n", 2: "h", 3: "w"}},
        "manifest": {
            "kind": "irsde",
            "inputs": {"x": "x", "mu": "mu", "t": "t"},
            "output": "noise",
            "prediction": "noise",
            "timestep": {"dtype": "float32"},
            "range": [0, 1],
            "channels": 3,
            "sde": {"maxSigma": a["max_sigma"], "T": a["T"], "schedule": "cosine", "eps": 0.005},
            "trainedNoiseSigma": a["sigma"],
        },
        "module": model,
        "core": model,
    }


def pedigree(ck, sha):
    """Training's record: one command per stage, joined by ' && ' (stage i of n writes RUN.i,
    the last RUN), the first stage's seed, and iterations and minutes summed over the stages."""
    stages = ck.get("before", []) + [{"args": ck["args"], "state": ck["state"]}]
    n = len(stages)
    out = lambda i: "RUN" if i == n else f"RUN.{i}"  # noqa: E731
    commands = [command_of(s["args"], out(i), out(i - 1) if i > 1 else None)
                for i, s in enumerate(stages, 1)]
    a = stages[0]["args"]
    return {
        "command": " && ".join(commands),
        "seed": a["seed"],
        "iterations": sum(s["state"]["iter"] for s in stages),
        "minutes": round(sum(s["state"]["seconds"] for s in stages) / 60, 1),
        "dataListSha256": ck["data_sha256"],
        "architecture": a["arch"],
        "parameters": None,
        "sha256": sha,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--out", default=os.path.join(REPO, "model", "builtin"))
    ap.add_argument("--steps", type=int, help="denoiser: DDNM's default steps")
    ap.add_argument("--eta", type=float, help="denoiser: DDNM's default eta")
    ap.add_argument("--description", default="")
    ap.add_argument("--task-defaults", default="{}",
                    help="denoiser: DDNM's per-task defaults, JSON ({\"denoise\": {\"eta\": 0.5}})")
    ap.add_argument("--solver", default="sde", help="irsde: the default solver")
    ap.add_argument("--probe", default=os.path.join(REPO, "testdata", "builtin"))
    args = ap.parse_args()
    ck = load_ema(args.run)
    kind = ck["args"]["kind"]
    e = irsde_export(irsde_model(ck), ck["args"]) if kind == "irsde" else ddpm_export(ddpm_model(ck))
    with _common.OutDir(args.out) as out:
        _common.export(out, args.name, e["module"], e["args"], e["inputs"], [e["output"]],
                       e["axes"], dtype="float16", keep_float32=("alpha_bar",))
        path = os.path.join(out.tmp, f"{args.name}.onnx")
        sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
        manifest = dict(e["manifest"], description=args.description)
        manifest["defaults"] = {"eta": args.eta, "steps": args.steps,
                                "tasks": json.loads(args.task_defaults)} \
            if kind == "denoiser" else {"solver": args.solver}
        manifest["sha256"] = sha
        manifest["training"] = dict(pedigree(ck, sha), parameters=nets.count_params(e["core"]))
        out.write_json(f"{args.name}.json", manifest)
    # the probe the tests compare the ONNX file with: PyTorch's output on the float16-rounded
    # weights (what the file stores), at an odd size
    _common.round_to_float16(e["core"])
    with torch.no_grad():
        expected = e["module"](*e["args"]).numpy()
    os.makedirs(args.probe, exist_ok=True)
    for name, value in zip(e["inputs"], e["args"]):
        np.save(os.path.join(args.probe, f"{args.name}.probe.{name}.npy"), value.numpy())
    np.save(os.path.join(args.probe, f"{args.name}.probe.{e['output']}.npy"), expected)
    print(json.dumps(manifest["training"], indent=2))


if __name__ == "__main__":
    main()
