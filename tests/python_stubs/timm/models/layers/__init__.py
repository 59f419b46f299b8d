"""Test stand-in for timm.models.layers: DropPath (identity at inference), to_2tuple,
trunc_normal_ (a plain truncated normal init)."""

import collections.abc

import torch


class DropPath(torch.nn.Module):
    def __init__(self, drop_prob=0.0, scale_by_keep=True):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return x


def to_2tuple(x):
    if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
        return tuple(x)
    return (x, x)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    with torch.no_grad():
        return torch.nn.init.trunc_normal_(tensor, mean, std, a, b)
