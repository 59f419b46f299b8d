"""The built-in networks: a small noise-conditional UNet denoiser D(x, sigma) with EDM-style
preconditioning (Karras et al. 2022), and the wrapper that turns it into the DDPM noise predictor
DDNM calls (docs/builtin_models.md).

Fully convolutional: a stride-2 convolution halves a level (rounding up) and the way back resizes
to the skip connection's own size, so every image size works without padding.
"""

import math

import torch
from torch import nn
import torch.nn.functional as F

SIGMA_DATA = 0.5  # images in [-1, 1]

# architectures by name: base channels, channel multipliers per level, residual blocks per level
ARCHS = {
    "quality": {"channels": 32, "mults": (1, 2, 4), "blocks": (1, 2, 2)},
    "edge": {"channels": 16, "mults": (1, 2, 4), "blocks": (1, 1, 2)},
    "tiny": {"channels": 8, "mults": (1, 2), "blocks": (1, 1)},
}


class NoiseEmbedding(nn.Module):
    """c_noise -> a vector: sinusoidal features, then a two-layer MLP."""

    def __init__(self, dim, features=32):
        super().__init__()
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(1000), features // 2)))
        self.mlp = nn.Sequential(nn.Linear(features, dim), nn.SiLU(), nn.Linear(dim, dim), nn.SiLU())

    def forward(self, c_noise):
        a = c_noise[:, None] * self.freqs[None, :]
        return self.mlp(torch.cat([torch.sin(a), torch.cos(a)], dim=1))


class ResBlock(nn.Module):
    """conv-SiLU-FiLM-conv with a residual; the last conv starts at zero so a block starts as
    the identity (no normalisation layers: cheaper, and exact at any image size)."""

    def __init__(self, ch, emb):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.film = nn.Linear(emb, 2 * ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x, e):
        h = F.silu(self.conv1(F.silu(x)))
        scale, shift = self.film(e)[:, :, None, None].chunk(2, dim=1)
        h = h * (1 + scale) + shift
        return x + self.conv2(h)


class UNet(nn.Module):
    """F(x, c_noise): the raw network inside the preconditioning. `cin` input channels (3, or 6
    when a conditioning image is concatenated), 3 output channels."""

    def __init__(self, channels, mults, blocks, cin=3, cout=3, emb=128):
        super().__init__()
        chs = [channels * m for m in mults]
        self.embed = NoiseEmbedding(emb)
        self.head = nn.Conv2d(cin, chs[0], 3, padding=1)
        self.enc = nn.ModuleList([nn.ModuleList([ResBlock(c, emb) for _ in range(b)])
                                  for c, b in zip(chs, blocks)])
        self.down = nn.ModuleList([nn.Conv2d(chs[i], chs[i + 1], 3, stride=2, padding=1)
                                   for i in range(len(chs) - 1)])
        self.up = nn.ModuleList([nn.Conv2d(chs[i + 1], chs[i], 3, padding=1)
                                 for i in range(len(chs) - 1)])
        self.dec = nn.ModuleList([nn.ModuleList([ResBlock(c, emb) for _ in range(b)])
                                  for c, b in zip(chs[:-1], blocks[:-1])])
        self.tail = nn.Conv2d(chs[0], cout, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, x, c_noise):
        e = self.embed(c_noise)
        h = self.head(x)
        skips = []
        for i, blocks in enumerate(self.enc):
            for b in blocks:
                h = b(h, e)
            if i < len(self.down):
                skips.append(h)
                h = self.down[i](F.silu(h))
        for i in reversed(range(len(self.dec))):
            s = skips[i]
            # resize to the skip's own size: odd sizes need no padding
            h = F.interpolate(h, size=s.shape[-2:], mode="nearest")
            h = self.up[i](F.silu(h)) + s
            for b in self.dec[i]:
                h = b(h, e)
        return self.tail(F.silu(h))


def make_unet(arch, cin=3):
    a = ARCHS[arch]
    return UNet(a["channels"], a["mults"], a["blocks"], cin=cin)


class Denoiser(nn.Module):
    """D(x, sigma) = c_skip x + c_out F(c_in x, ln(sigma)/4): the MMSE estimate of the clean
    image from x = clean + sigma * n, for any sigma (EDM preconditioning)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, sigma):
        s2 = sigma * sigma + SIGMA_DATA**2
        c_skip = (SIGMA_DATA**2 / s2)[:, None, None, None]
        c_out = (sigma * SIGMA_DATA / torch.sqrt(s2))[:, None, None, None]
        c_in = (1 / torch.sqrt(s2))[:, None, None, None]
        return c_skip * x + c_out * self.net(c_in * x, torch.log(sigma) / 4)


def linear_alpha_bar(beta_start=1e-4, beta_end=0.02, steps=1000):
    """DDPM's linear schedule as DDNM uses it (float64, then float32)."""
    betas = torch.linspace(beta_start, beta_end, steps, dtype=torch.float64)
    return torch.cumprod(1 - betas, dim=0).float()


class DdpmEps(nn.Module):
    """The denoiser as a DDPM noise predictor: eps(x_t, t) for x_t = sqrt(ab) x0 + sqrt(1-ab) n,
    with ab from the linear schedule at the integer step round(t) (docs/builtin_models.md)."""

    def __init__(self, denoiser):
        super().__init__()
        self.denoiser = denoiser
        self.register_buffer("alpha_bar", linear_alpha_bar())

    def forward(self, x, t):
        idx = torch.clamp(torch.round(t), 0, 999).long()
        ab = self.alpha_bar[idx]
        s = torch.sqrt(ab)
        r = torch.sqrt(1 - ab)
        sigma = r / s
        d = self.denoiser(x / s[:, None, None, None], sigma)
        return (x - s[:, None, None, None] * d) / r[:, None, None, None]


def count_params(m):
    return sum(p.numel() for p in m.parameters())


def irsde_schedule(T, max_sigma, eps=0.005):
    """IR-SDE's cosine schedule as its reference computes it (float32; docs/irsde.md): theta,
    the cumulative theta-bar, dt, sigma and sigma-bar, each of length T + 1."""
    f32 = torch.float32
    m = T + 2
    x = torch.linspace(0, m, m + 1, dtype=f32)
    g = torch.cos(((x / m) + 0.008) / (1 + 0.008) * math.pi * 0.5) ** 2
    thetas = 1 - (g / g[0])[1:-1]
    lam = max_sigma / 255 if max_sigma >= 1 else max_sigma
    cumsum = torch.cumsum(thetas, 0) - thetas[0]
    dt = -1 / cumsum[-1] * math.log(eps)
    sigmas = torch.sqrt(lam**2 * 2 * thetas)
    sigma_bars = torch.sqrt(lam**2 * (1 - torch.exp(-2 * cumsum * dt)))
    return {"theta": thetas, "theta_bar": cumsum, "dt": dt, "sigma": sigmas,
            "sigma_bar": sigma_bars, "lambda": lam}


class IrsdeNoise(nn.Module):
    """IR-SDE's conditional noise network eps(x_t, mu, t) in the seed's spirit: the UNet sees
    [x_t - mu, mu] and the step as t / T (docs/builtin_models.md)."""

    def __init__(self, net, T):
        super().__init__()
        self.net = net
        self.T = T

    def forward(self, x, mu, t):
        return self.net(torch.cat([x - mu, mu], dim=1), t / self.T)
