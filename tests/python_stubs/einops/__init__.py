"""Test stand-in for einops: rearrange, repeat and reduce on torch tensors, for the patterns the
seed repositories' networks use (named axes, groups in parentheses, `1`, `()` and `...`)."""

import math
import re

__all__ = ["rearrange", "repeat", "reduce"]


def _parse(side):
    """Groups of axis names; a bare `...` is the string "...", a group is a list."""
    groups = []
    for m in re.finditer(r"\(([^)]*)\)|(\S+)", side):
        groups.append(m.group(1).split() if m.group(1) is not None else m.group(2))
    return groups


def _expand(groups, names):
    """Replace `...` by `names`: standalone, one group each; inside a group, in place."""
    out = []
    for g in groups:
        if g == "...":
            out.extend([[a] for a in names])
        elif isinstance(g, str):
            out.append([g])
        elif "..." in g:
            i = g.index("...")
            out.append(g[:i] + names + g[i + 1:])
        else:
            out.append(g)
    return out


def _sizes(groups, shape, sizes):
    sizes = dict(sizes)
    for g, n in zip(groups, shape):
        names = [a for a in g if a != "1"]
        unknown = [a for a in names if a not in sizes]
        if len(unknown) > 1:
            raise ValueError(f"einops stand-in: cannot infer {unknown}")
        if unknown:
            known = math.prod(sizes[a] for a in names if a in sizes) if len(names) > 1 else 1
            sizes[unknown[0]] = n // known
    return sizes


def _prepare(tensor, pattern, axes):
    left, right = [p.strip() for p in pattern.split("->")]
    lg, rg = _parse(left), _parse(right)
    named = sum(1 for g in lg if g != "...")
    has = any(g == "..." or (isinstance(g, list) and "..." in g) for g in lg)
    extra = [f"_e{k}" for k in range(tensor.dim() - named)] if has else []
    lg, rg = _expand(lg, extra), _expand(rg, extra)
    sizes = _sizes(lg, tensor.shape, axes)
    elementary = [a for g in lg for a in g if a != "1"]
    x = tensor.reshape([sizes[a] for a in elementary])
    return x, elementary, rg, sizes


def _finish(x, elementary, rg, sizes):
    target = [a for g in rg for a in g if a != "1" and a in elementary]
    if target:
        x = x.permute([elementary.index(a) for a in target])
    shape = []
    for g in rg:
        shape.append(math.prod(sizes[a] for a in g if a != "1") if g else 1)
    return x.reshape(shape)


def rearrange(tensor, pattern, **axes):
    if isinstance(tensor, (list, tuple)):
        import torch

        tensor = torch.stack(list(tensor))
    x, elementary, rg, sizes = _prepare(tensor, pattern, axes)
    missing = [a for g in rg for a in g if a != "1" and a not in elementary]
    if missing:
        raise ValueError(f"einops stand-in: rearrange cannot create axes {missing}")
    return _finish(x, elementary, rg, sizes)


def repeat(tensor, pattern, **axes):
    x, elementary, rg, sizes = _prepare(tensor, pattern, axes)
    new = [a for g in rg for a in g if a != "1" and a not in elementary]
    for a in new:
        x = x.unsqueeze(-1)
        elementary = elementary + [a]
    target = [a for g in rg for a in g if a != "1"]
    x = x.permute([elementary.index(a) for a in target])
    x = x.expand([sizes[a] for a in target])
    shape = [math.prod(sizes[a] for a in g if a != "1") if g else 1 for g in rg]
    return x.reshape(shape)


def reduce(tensor, pattern, reduction, **axes):
    x, elementary, rg, sizes = _prepare(tensor, pattern, axes)
    keep = [a for g in rg for a in g if a != "1"]
    dims = [i for i, a in enumerate(elementary) if a not in keep]
    if dims:
        x = getattr(x, reduction)(dim=dims)
        elementary = [a for a in elementary if a in keep]
    return _finish(x, elementary, rg, sizes)
