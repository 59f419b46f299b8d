"""Export a DDNM checkpoint to ONNX with its manifest (docs/export.md).

    python3 tools/export/ddnm.py --repo DDNM --config CONFIG.yml --checkpoint CKPT --out DIR

The network is built as DDNM's own `guided_diffusion/diffusion.py` builds it from the config:
`model.type: openai` is guided-diffusion's `create_model(**config.model)` (UNetModel),
`model.type: simple` is DDIM's `Model(config)` (the CelebA-HQ and LSUN checkpoints). Writes
DIR/model.onnx, DIR/model.json and the probe `info --verify` checks.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
from _common import (  # noqa: E402
    ExportError,
    OutDir,
    Parser,
    dict_to_namespace,
    export,
    load_checkpoint,
    load_strict,
    need_key,
    read_yaml,
    round_to_float16,
    run_main,
    save_probe,
    torch_modules,
    use_repo,
)

# this folder must not shadow the seed repositories' packages (this very file may be diffbir.py)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]


def _openai(model_cfg):
    import guided_diffusion.unet as unet
    from guided_diffusion.script_util import create_model

    # AttentionBlock calls its gradient checkpoint unconditionally; that autograd Function
    # does not export, and inference needs none: run the block directly
    unet.checkpoint = lambda func, inputs, params, flag: func(*inputs)
    cfg = dict(model_cfg)
    # upstream's convert_to_fp16() makes the blocks compute in float16, which PyTorch cannot
    # trace on the CPU; --dtype float16 stores the weights as float16 instead
    cfg["use_fp16"] = False
    try:
        return create_model(**cfg)
    except (TypeError, ValueError, KeyError) as e:
        raise ExportError(f"config 'model' block: {e}")


def _simple(config):
    from guided_diffusion.models import Model

    try:
        return Model(dict_to_namespace(config))
    except (AttributeError, TypeError, KeyError) as e:
        raise ExportError(f"config 'model' block for type simple: {e}")


def main():
    p = Parser(prog="tools/export/ddnm.py", description=__doc__.splitlines()[0])
    p.add_argument("--repo", required=True, help="your checkout of DDNM")
    p.add_argument("--config", required=True, help="DDNM's config, e.g. configs/imagenet_256.yml")
    p.add_argument("--checkpoint", required=True, help="the model's checkpoint (.pt/.ckpt)")
    p.add_argument("--out", required=True, help="the output folder")
    p.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    p.add_argument("--probe-size", type=int, default=0, help="probe image size (default: the model's)")
    a = p.parse_args()
    torch = torch_modules()
    config = read_yaml(a.config, "--config")
    model_cfg = need_key(config, "model", a.config)
    kind = need_key(config, "model.type", a.config)
    size = int(need_key(config, "data.image_size", a.config))
    use_repo(a.repo, "guided_diffusion", "a DDNM checkout")
    if kind == "openai":
        net = _openai(model_cfg)
        learned = bool(model_cfg.get("learn_sigma", False))
        class_cond = bool(model_cfg.get("class_cond", False))
        channels = 3
    elif kind == "simple":
        net = _simple(config)
        channels = int(model_cfg.get("in_channels", 3))
        learned = int(model_cfg.get("out_ch", channels)) == 2 * channels
        class_cond = False
    else:
        raise ExportError(f"{a.config}: model.type must be openai or simple, found {kind!r}")
    load_strict(net, load_checkpoint(a.checkpoint), f"checkpoint {a.checkpoint}")
    if a.dtype == "float16":
        round_to_float16(net)

    class Eps(torch.nn.Module):
        """The network as DDNM calls it: (x, t[, y]) with t the raw float timestep."""

        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x, t, *y):
            return self.net(x, t, *y) if y else self.net(x, t)

    s = a.probe_size or size
    g = torch.Generator().manual_seed(0)
    args = [torch.randn(1, channels, s, s, generator=g), torch.tensor([500.0])]
    names = ["x", "t"]
    axes = {"x": {0: "n", 2: "h", 3: "w"}, "t": {0: "n"}, "eps": {0: "n", 2: "h", 3: "w"}}
    if class_cond:
        args.append(torch.tensor([1], dtype=torch.long))
        names.append("y")
        axes["y"] = {0: "n"}
    diffusion = config.get("diffusion", {})
    data = config.get("data", {})
    manifest = {
        "kind": "ddpm",
        "inputs": {n: n for n in names},
        "output": "eps",
        "prediction": "eps",
        "learnedSigma": learned,
        "timestep": {"dtype": "float32"},
        "range": [-1, 1] if data.get("rescaled", True) else [0, 1],
        "channels": channels,
        "size": [size, size],
        "schedule": {
            "beta": diffusion.get("beta_schedule", "linear"),
            "betaStart": float(diffusion.get("beta_start", 0.0001)),
            "betaEnd": float(diffusion.get("beta_end", 0.02)),
            "trainSteps": int(diffusion.get("num_diffusion_timesteps", 1000)),
        },
        "exportedFrom": {
            "repository": "DDNM",
            "config": os.path.basename(a.config),
            "modelType": kind,
            "dtype": a.dtype,
        },
    }
    steps = config.get("time_travel", {}).get("T_sampling")
    if steps:
        manifest["defaults"] = {"steps": int(steps)}
    with OutDir(a.out) as out:
        inputs, expected = export(out, "model", Eps(), args, names, ["eps"], axes, a.dtype)
        save_probe(out, "model", names, inputs, expected, (1e-3, 1e-4))
        out.write_json("model.json", manifest)
    print(f"wrote {os.path.join(a.out, 'model.onnx')} and model.json ({kind}, {a.dtype})")


if __name__ == "__main__":
    run_main(main)
