"""Test stand-in for einops.layers.torch."""

import torch

from .. import rearrange


class Rearrange(torch.nn.Module):
    def __init__(self, pattern, **axes):
        super().__init__()
        self.pattern = pattern
        self.axes = axes

    def forward(self, x):
        return rearrange(x, self.pattern, **self.axes)
