"""Shared ground of the exporters: one-line errors, the user's checkout on sys.path, checkpoint
loading with a key report, ONNX export (opset 17, dynamic sizes, external data above 2 GB,
optional float16 weights), probe inputs and outputs for `info --verify`, atomic writes.

The exporters import the user's checkout of a seed repository (`--repo`); nothing of it is
copied here. See docs/export.md.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import warnings

# PyTorch's tracer warnings are about the trace, not about the user's files
warnings.filterwarnings("ignore")

OPSET = 17
# protobuf's limit: larger models keep their weights as ONNX external data (the variable moves
# the threshold, for tests)
_PROTO_LIMIT = int(os.environ.get("DIFFRESTORE_EXTERNAL_DATA_BYTES", 2 * 1024**3 - 1024**2))


class ExportError(Exception):
    """A problem the user can fix; printed as one `error:` line."""


class Parser(argparse.ArgumentParser):
    """argparse with one `error:` line and exit status 2 for usage errors."""

    def error(self, message):
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        sys.exit(2)


def run_main(main):
    """Run an exporter's main: an ExportError (or a missing file) is one line and exit 1."""
    try:
        main()
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except FileNotFoundError as e:
        print(f"error: {e.filename or e}: no such file", file=sys.stderr)
        sys.exit(1)


def need_file(path, what):
    if not os.path.isfile(path):
        raise ExportError(f"{what} {path} not found")
    return path


def use_repo(path, marker, what):
    """Put the user's checkout on sys.path after checking that it holds `marker`."""
    if not os.path.isdir(path):
        raise ExportError(f"--repo {path}: no such directory")
    if not os.path.exists(os.path.join(path, marker)):
        raise ExportError(f"--repo {path} does not look like {what} (no {marker})")
    sys.path.insert(0, os.path.abspath(path))


def torch_modules():
    try:
        import numpy  # noqa: F401
        import torch
        import onnx  # noqa: F401
    except ImportError as e:
        raise ExportError(f"the exporters need PyTorch, ONNX and NumPy ({e})")
    return torch


def load_checkpoint(path, what="checkpoint"):
    """A state dict from a checkpoint file: the dict itself, or its `state_dict`/`params`."""
    torch = torch_modules()
    need_file(path, what)
    try:
        sd = torch.load(path, map_location="cpu")
    except Exception as e:  # a file torch cannot read at all
        raise ExportError(f"{what} {path} is not a PyTorch checkpoint ({type(e).__name__}: {e})")
    if isinstance(sd, dict):
        for key in ("state_dict", "params_ema", "params"):
            if key in sd and isinstance(sd[key], dict):
                sd = sd[key]
                break
    if not isinstance(sd, dict) or not all(hasattr(v, "shape") for v in sd.values()):
        raise ExportError(f"{what} {path} holds no state dict of tensors")
    # DataParallel prefixes
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    return sd


def _names(keys, limit=4):
    keys = sorted(keys)
    shown = ", ".join(keys[:limit])
    return f"{shown} (+{len(keys) - limit} more)" if len(keys) > limit else shown


def load_strict(module, sd, what):
    """Load `sd` into `module`; missing, unexpected or mis-shaped keys are one error line."""
    own = module.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shapes = [k for k in own if k in sd and tuple(own[k].shape) != tuple(sd[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys: {_names(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys: {_names(unexpected)}")
        if shapes:
            k = shapes[0]
            parts.append(
                f"{len(shapes)} keys of another shape: {k} is {list(sd[k].shape)} in the "
                f"checkpoint, {list(own[k].shape)} in the config's network"
            )
        raise ExportError(f"{what} does not fit the config: " + "; ".join(parts))
    module.load_state_dict(sd, strict=True)
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)


def round_to_float16(module):
    """Round every float weight to float16 and back (the values a float16 export stores)."""
    torch = torch_modules()
    with torch.no_grad():
        for p in list(module.parameters()) + list(module.buffers()):
            if p.dtype == torch.float32:
                p.copy_(p.half().float())


class OutDir:
    """The output folder: files are written under a temporary name and renamed at the end,
    so a failed export leaves nothing behind. Use it as `with OutDir(path) as out:` (committed
    when the block ends, abandoned when it raises)."""

    def __init__(self, path):
        self.path = path
        os.makedirs(path, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix=".export-", dir=path)
        self.files = []

    def file(self, name):
        self.files.append(name)
        return os.path.join(self.tmp, name)

    def write_json(self, name, obj):
        with open(self.file(name), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")

    def commit(self):
        for name in self.files:
            os.replace(os.path.join(self.tmp, name), os.path.join(self.path, name))
        shutil.rmtree(self.tmp, ignore_errors=True)

    def abandon(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            self.commit()
        else:
            self.abandon()
        return False


def export(out, name, module, args, input_names, output_names, dynamic_axes, dtype="float32",
           keep_float32=()):
    """Export `module(*args)` to `out/<name>.onnx` (opset 17) and return the ONNX inputs' and
    the output's values on `args`, as the probe for `info --verify`. With float16 weights,
    initializers whose names contain a string of `keep_float32` stay float32."""
    torch = torch_modules()
    import onnx

    module.eval()
    with torch.no_grad():
        expected = module(*args)
    path = out.file(f"{name}.onnx")
    with torch.no_grad():
        torch.onnx.export(
            module,
            tuple(args),
            path,
            opset_version=OPSET,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
        )
    model = onnx.load(path, load_external_data=True)
    if dtype == "float16":
        _weights_to_float16(model, keep_float32)
    size = sum(t.ByteSize() for t in model.graph.initializer)
    data_name = f"{name}.onnx.data"
    leftovers = [f for f in os.listdir(out.tmp) if f not in out.files and f != data_name]
    for f in leftovers:  # torch's own external-data files, replaced by one file below
        os.remove(os.path.join(out.tmp, f))
    if size > _PROTO_LIMIT:
        onnx.save_model(
            model,
            path,
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=data_name,
            size_threshold=1024,
        )
        out.files.append(data_name)
    else:
        onnx.save_model(model, path)
    return [a.detach().cpu().numpy() for a in args], expected.detach().cpu().numpy()


def _weights_to_float16(model, keep=()):
    """Store float32 weights as float16 behind Cast nodes: half the file, float32 inputs and
    outputs, and the same arithmetic on the (rounded) weights."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    casts = []
    for init in model.graph.initializer:
        if init.data_type != TensorProto.FLOAT or np.prod(init.dims) < 16 or any(
                k in init.name for k in keep):
            continue
        name = init.name  # read before the element is overwritten in place
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), name + "_fp16")
        init.CopyFrom(half)
        casts.append(helper.make_node("Cast", [half.name], [name], to=TensorProto.FLOAT))
    nodes = list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(casts + nodes)


def save_probe(out, name, input_names, inputs, output, tolerance):
    """`<name>.probe.json` and its `.npy` files: inputs by ONNX name, the PyTorch output."""
    import numpy as np

    files = {}
    for n, a in zip(input_names, inputs):
        f = f"{name}.probe.{n}.npy"
        np.save(out.file(f), np.ascontiguousarray(a.astype(np.float32)))
        files[n] = {"file": f, "dtype": str(a.dtype)}
    np.save(out.file(f"{name}.probe.output.npy"), np.ascontiguousarray(output.astype(np.float32)))
    out.write_json(
        f"{name}.probe.json",
        {
            "inputs": files,
            "output": f"{name}.probe.output.npy",
            "tolerance": {"max": tolerance[0], "mean": tolerance[1]},
            "note": "PyTorch's output on these inputs; `cli.ts info --model M --verify` compares",
        },
    )


def dict_to_namespace(d):
    """A nested dict as attributes (the seed repositories' own `dict2namespace`)."""
    ns = argparse.Namespace()
    for k, v in d.items():
        setattr(ns, k, dict_to_namespace(v) if isinstance(v, dict) else v)
    return ns


def read_yaml(path, what):
    import yaml

    need_file(path, what)
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ExportError(f"{what} {path} is not valid YAML ({str(e).splitlines()[0]})")
    if not isinstance(data, dict):
        raise ExportError(f"{what} {path} holds no mapping")
    return data


def need_key(d, path, where):
    cur = d
    for k in path.split("."):
        if not isinstance(cur, dict) or k not in cur:
            raise ExportError(f"{where}: missing key '{path}'")
        cur = cur[k]
    return cur
