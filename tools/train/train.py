"""Train a built-in network on the CPU: seeded, resumable from its checkpoint, with progress
(iteration, loss, ETA) and a wall-clock budget per run (docs/builtin_models.md).

    python3 tools/train/train.py --arch quality --iters 4000 --out runs/quality --minutes 60

`--kind denoiser` trains D(x, sigma) with EDM's loss over DDNM's whole noise range;
`--kind irsde` trains IR-SDE's conditional noise network on its cosine schedule.
Run it again with the same arguments to resume where the checkpoint left off. A second stage
(`--init-from RUN.1/checkpoint.pt`) starts from a finished run's EMA weights with a fresh optimiser
and learning-rate schedule; its checkpoint keeps the earlier stages for the pedigree.
"""

import argparse
import copy
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import nets  # noqa: E402
import objectives  # noqa: E402
from photos import CropSampler  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="train a built-in network")
    ap.add_argument("--kind", choices=["denoiser", "irsde"], default="denoiser")
    ap.add_argument("--arch", choices=sorted(nets.ARCHS), default="quality")
    ap.add_argument("--iters", type=int, required=True, help="total iterations (lr decays over them)")
    ap.add_argument("--out", required=True, help="run folder: checkpoint.pt, log.jsonl")
    ap.add_argument("--minutes", type=float, default=1e9, help="stop (and checkpoint) after this")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=data.DEFAULT_OUT, help="the folder tools/train/data.py fills")
    ap.add_argument("--photos", type=int, default=0, help="use only the first N training photos (tests)")
    ap.add_argument("--splits", default="train",
                    help="the data list's splits to train on, comma-separated (train, extra)")
    ap.add_argument("--uniform-share", type=float, default=0.2,
                    help="denoiser: the share of noise levels drawn log-uniformly over DDNM's range")
    ap.add_argument("--init-from", default=None,
                    help="a second stage: start from this checkpoint's EMA weights (same arch), "
                         "with a fresh optimiser and learning-rate schedule")
    ap.add_argument("--sigma", type=float, default=25, help="irsde: the noise it restores, in /255")
    ap.add_argument("--T", type=int, default=20, help="irsde: steps of the SDE")
    ap.add_argument("--max-sigma", type=float, default=10, help="irsde: the SDE's lambda, in /255")
    ap.add_argument("--irsde-loss", choices=["mean-l1", "eps-mse"], default="mean-l1",
                    help="irsde: the seed's L1 between reverse means, or plain noise matching")
    return ap.parse_args(argv)


def lr_at(base, it, total, warmup=200):
    """Linear warm-up, then a cosine decay to 5 % over the planned iterations."""
    w = min(1.0, (it + 1) / warmup)
    frac = min(1.0, it / max(1, total))
    return base * w * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))


def _training_names(splits):
    """The photos of the named splits, in the list's order; the holdout is never trained on."""
    wanted = splits.split(",")
    listed = data.read_list()["photos"]
    known = {p["split"] for p in listed} - {"holdout"}
    bad = [s for s in wanted if s not in known]
    if bad:
        raise SystemExit(f"error: --splits {splits}: {bad[0]} is not a training split "
                         f"({', '.join(sorted(known))})")
    return [p["name"] for p in listed if p["split"] in wanted]


def _load_checkpoint(path, args, label):
    """A checkpoint of this run's kind and arch (`label` names it in the error)."""
    ck = torch.load(path)
    if ck["args"]["arch"] != args.arch or ck["args"]["kind"] != args.kind:
        raise SystemExit(f"error: {label} holds a {ck['args']['kind']} {ck['args']['arch']}")
    return ck


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    names = _training_names(args.splits)
    photos = data.gather(args.data, names[:args.photos] if args.photos else names)
    g = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    objective = objectives.make(args)
    net = objective.model
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    state = {"iter": 0, "seconds": 0.0}
    before = []  # the earlier stages' arguments and states: the pedigree of an --init-from run
    if args.init_from and not os.path.exists(ckpt_path):
        if not os.path.exists(args.init_from):
            raise SystemExit(f"error: --init-from {args.init_from}: no such checkpoint")
        start = _load_checkpoint(args.init_from, args, f"--init-from {args.init_from}")
        if start["state"]["iter"] < start["args"]["iters"]:
            # the pedigree records whole stages: a stage starts from a finished one
            raise SystemExit(f"error: --init-from {args.init_from} stopped at iteration "
                             f"{start['state']['iter']} of {start['args']['iters']}; finish it first")
        net.load_state_dict(start["ema"])
        ema.load_state_dict(start["ema"])
        before = start.get("before", []) + [{"args": start["args"], "state": start["state"]}]
    if os.path.exists(ckpt_path):
        ck = _load_checkpoint(ckpt_path, args, ckpt_path)
        net.load_state_dict(ck["net"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        before = ck.get("before", [])
        g.set_state(ck["rng"])
        torch.set_rng_state(ck["torch_rng"])
        print(f"resumed at iteration {state['iter']}", flush=True)
    sampler = CropSampler([p["path"] for p in photos], args.crop, g)
    print(f"{args.kind} {args.arch}: {nets.count_params(net)} parameters, "
          f"{len(photos)} photos, {args.iters} iterations", flush=True)

    def save():
        tmp = ckpt_path + ".part"
        torch.save({"net": net.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    "state": state, "rng": g.get_state(), "torch_rng": torch.get_rng_state(),
                    "args": vars(args), "before": before,
                    "data_sha256": data.data_list_sha256()}, tmp)
        os.replace(tmp, ckpt_path)

    run_t0 = seg_t0 = last_save = time.time()
    run_start_iter = state["iter"]
    avg = None
    log = open(os.path.join(args.out, "log.jsonl"), "a")
    while state["iter"] < args.iters:
        it = state["iter"]
        for group in opt.param_groups:
            group["lr"] = lr_at(args.lr, it, args.iters)
        loss = objective.loss(sampler.batch(args.batch), g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            d = min(args.ema, (1 + it) / (10 + it))
            for pe, p in zip(ema.parameters(), net.parameters()):
                pe.mul_(d).add_(p, alpha=1 - d)
        state["iter"] = it + 1
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        now = time.time()
        if state["iter"] % 50 == 0 or state["iter"] == args.iters:
            rate = (state["iter"] - run_start_iter) / (now - run_t0)
            eta = (args.iters - state["iter"]) / max(rate, 1e-9) / 60
            print(f"iter {state['iter']}/{args.iters} loss {avg:.4f} "
                  f"{rate:.2f} it/s ETA {eta:.1f} min", flush=True)
            log.write(json.dumps({"iter": state["iter"], "loss": avg,
                                  "minutes": (state["seconds"] + now - seg_t0) / 60}) + "\n")
            log.flush()
        spent = (now - run_t0) / 60 > args.minutes
        if now - last_save > 300 or spent:
            state["seconds"] += now - seg_t0
            seg_t0 = last_save = now
            save()
            if spent:
                print(f"budget of {args.minutes} minutes spent at iteration {state['iter']}; "
                      "run again to resume", flush=True)
                return
    state["seconds"] += time.time() - seg_t0
    save()
    print(f"done: {state['iter']} iterations in {state['seconds'] / 60:.1f} minutes", flush=True)


if __name__ == "__main__":
    main()
