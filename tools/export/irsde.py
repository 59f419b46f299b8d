"""Export an IR-SDE or Refusion checkpoint to ONNX with its manifest (docs/export.md).

    python3 tools/export/irsde.py --repo IRSDE --options OPTIONS.yml --checkpoint CKPT --out DIR
        [--config-dir codes/config/TASK]

The network is `network_G.which_model_G` with its `setting`, built from the modules of the task
folder (`--config-dir`, default: the task folder that holds the options file) as the
repository's own `define_G` does. A network whose forward takes (x, time) is the DenoisingSDE
variant (no `mu` input). Writes DIR/model.onnx, DIR/model.json and the probe `info --verify`
checks.
"""

import importlib
import inspect
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)
from _common import (  # noqa: E402
    ExportError,
    OutDir,
    Parser,
    export,
    load_checkpoint,
    load_strict,
    need_key,
    read_yaml,
    round_to_float16,
    run_main,
    save_probe,
    torch_modules,
)

# this folder must not shadow the seed repositories' packages (this very file may be diffbir.py)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]


def _config_dir(options, given):
    if given:
        return given
    # .../codes/config/<task>/options/<test|train>/<name>.yml
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(options))))


def _network(config_dir, which, setting):
    if not os.path.isdir(os.path.join(config_dir, "models", "modules")):
        raise ExportError(f"--config-dir {config_dir} has no models/modules (an IR-SDE task folder)")
    sys.path.insert(0, os.path.abspath(config_dir))
    try:
        modules = importlib.import_module("models.modules")
    except ImportError as e:
        raise ExportError(f"cannot import {config_dir}/models/modules: {e}")
    cls = getattr(modules, which, None)
    if cls is None:
        raise ExportError(f"network_G.which_model_G: {which!r} is not in {config_dir}/models/modules")
    try:
        return cls(**(setting or {}))
    except TypeError as e:
        raise ExportError(f"network_G.setting does not fit {which}: {e}")


def main():
    p = Parser(prog="tools/export/irsde.py", description=__doc__.splitlines()[0])
    p.add_argument("--repo", required=True, help="your checkout of image-restoration-sde")
    p.add_argument("--options", required=True, help="the options file, e.g. options/test/ir-sde.yml")
    p.add_argument("--checkpoint", required=True, help="the network's checkpoint (.pth)")
    p.add_argument("--out", required=True, help="the output folder")
    p.add_argument("--config-dir", help="the task folder whose models/modules build the network")
    p.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    # not a multiple of the networks' 16: the probe exercises their own padding
    p.add_argument("--probe-size", type=int, default=60)
    a = p.parse_args()
    torch = torch_modules()
    if not os.path.isdir(os.path.join(a.repo, "codes")):
        raise ExportError(f"--repo {a.repo} does not look like image-restoration-sde (no codes/)")
    opt = read_yaml(a.options, "--options")
    which = need_key(opt, "network_G.which_model_G", a.options)
    setting = opt["network_G"].get("setting", {})
    sde = need_key(opt, "sde", a.options)
    net = _network(_config_dir(a.options, a.config_dir), which, setting)
    load_strict(net, load_checkpoint(a.checkpoint), f"checkpoint {a.checkpoint}")
    if a.dtype == "float16":
        round_to_float16(net)
    conditional = len(inspect.signature(net.forward).parameters) >= 3
    channels = int((setting or {}).get("in_nc", (setting or {}).get("img_channel", 3)))

    class Noise(torch.nn.Module):
        """The network as the reference calls it: (x, μ, t) or, DenoisingSDE, (x, t)."""

        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x, *rest):
            return self.net(x, *rest)

    s = a.probe_size
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, channels, s, s, generator=g)
    t = torch.tensor([50.0])
    args, names = ([x, torch.rand(1, channels, s, s, generator=g), t], ["x", "mu", "t"]) \
        if conditional else ([x, t], ["x", "t"])
    image = {0: "n", 2: "h", 3: "w"}
    axes = {n: (image if n != "t" else {0: "n"}) for n in names}
    axes["noise"] = image
    manifest = {
        "kind": "irsde",
        "inputs": {n: n for n in names},
        "output": "noise",
        "prediction": "noise",
        "timestep": {"dtype": "float32"},
        "range": [0, 1],
        "channels": channels,
        "sde": {
            "maxSigma": float(need_key(opt, "sde.max_sigma", a.options)),
            "T": int(sde.get("T", 100)),
            "schedule": sde.get("schedule", "cosine"),
            # the reference's defaults: IRSDE eps 0.01, DenoisingSDE eps fixed at 0.04
            "eps": float(sde.get("eps", 0.01)) if conditional else 0.04,
        },
        "exportedFrom": {
            "repository": "image-restoration-sde",
            "options": os.path.basename(a.options),
            "network": which,
            "dtype": a.dtype,
        },
    }
    with OutDir(a.out) as out:
        inputs, expected = export(out, "model", Noise(), args, names, ["noise"], axes, a.dtype)
        save_probe(out, "model", names, inputs, expected, (1e-3, 1e-4))
        out.write_json("model.json", manifest)
    variant = which if conditional else f"{which}, DenoisingSDE variant"
    print(f"wrote {os.path.join(a.out, 'model.onnx')} and model.json ({variant}, {a.dtype})")


if __name__ == "__main__":
    run_main(main)
