"""Training crops: the listed photos at several scales, sampled as random crops with flips and
rotations (the augmentations a denoiser needs: docs/builtin_models.md)."""

import numpy as np
from PIL import Image
import torch

# long sides a photo is resized to (never up): wallpapers at 2560 px are far smoother per pixel
# than the benchmark photos (about 500 px), so most crops come from strongly reduced copies
LONG_SIDES = (384, 512, 768, 1024)


def load_scales(path, min_side):
    im = Image.open(path).convert("RGB")
    out = []
    for side in LONG_SIDES:
        f = side / max(im.size)
        if f >= 1:
            out.append(np.asarray(im))
            break
        size = (round(im.size[0] * f), round(im.size[1] * f))
        if min(size) >= min_side:
            out.append(np.asarray(im.resize(size, Image.LANCZOS)))
    return [torch.from_numpy(a.copy()).permute(2, 0, 1).contiguous() for a in out]


class CropSampler:
    """Random crops in [-1, 1] from a list of photos, each photo equally likely, then a scale."""

    def __init__(self, paths, size, generator):
        self.size = size
        self.g = generator
        self.photos = [load_scales(p, size) for p in paths]

    def _int(self, n):
        return int(torch.randint(n, (1,), generator=self.g))

    def crop(self):
        scales = self.photos[self._int(len(self.photos))]
        im = scales[self._int(len(scales))]
        h, w = im.shape[1:]
        y, x = self._int(h - self.size + 1), self._int(w - self.size + 1)
        c = im[:, y:y + self.size, x:x + self.size].float() / 127.5 - 1
        c = torch.rot90(c, self._int(4), dims=(1, 2))
        return torch.flip(c, dims=(2,)) if self._int(2) else c

    def batch(self, n):
        return torch.stack([self.crop() for _ in range(n)])
