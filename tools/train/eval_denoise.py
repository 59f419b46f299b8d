"""Denoising PSNR of a checkpoint's EMA network at one noise level on crops of given photos (a
quick check while training; the benches judge the exported model)."""

import argparse
import math
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets  # noqa: E402


def crops(paths, size=256):
    out = []
    for p in paths:
        im = Image.open(p).convert("RGB")
        f = 512 / max(im.size)
        if f < 1:
            im = im.resize((round(im.size[0] * f), round(im.size[1] * f)), Image.BICUBIC)
        a = np.asarray(im, dtype=np.float32) / 127.5 - 1
        y, x = (a.shape[0] - size) // 2, (a.shape[1] - size) // 2
        out.append(torch.from_numpy(a[y:y + size, x:x + size].transpose(2, 0, 1).copy()))
    return torch.stack(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--sigma", type=float, default=25, help="in /255")
    ap.add_argument("photos", nargs="+")
    args = ap.parse_args()
    ck = torch.load(os.path.join(args.run, "checkpoint.pt"))
    net = nets.Denoiser(nets.make_unet(ck["args"]["arch"]))
    net.load_state_dict(ck["ema"])
    clean = crops(args.photos)
    s = 2 * args.sigma / 255
    noisy = clean + s * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        d = net(noisy, torch.full((clean.shape[0],), s)).clamp(-1, 1)
    mse = ((d - clean) / 2).pow(2).mean(dim=(1, 2, 3))
    psnr = [10 * math.log10(1 / m) for m in mse.tolist()]
    print(f"iter {ck['state']['iter']}: " + " ".join(f"{p:.2f}" for p in psnr) +
          f" mean {sum(psnr) / len(psnr):.2f}")


if __name__ == "__main__":
    main()
