"""Training objectives: what a batch of clean crops becomes, and the loss (docs/builtin_models.md)."""

import math

import torch

import nets

# DDNM's linear schedule visits sigma = sqrt((1 - ab) / ab) from 0.01 (t = 0) to 157 (t = 999)
SIGMA_MIN, SIGMA_MAX = 0.002, 160.0


class DenoiserObjective:
    """EDM's weighted denoising loss. Half the noise levels follow EDM's log-normal (where the
    detail is decided), half are log-uniform over DDNM's whole range (every level it calls)."""

    def __init__(self, arch, uniform_share=0.5):
        self.model = nets.Denoiser(nets.make_unet(arch))
        self.uniform_share = uniform_share

    def sigmas(self, n, g):
        normal = -1.2 + 1.2 * torch.randn(n, generator=g)
        uniform = math.log(SIGMA_MIN) + torch.rand(n, generator=g) * math.log(SIGMA_MAX / SIGMA_MIN)
        return torch.exp(torch.where(torch.rand(n, generator=g) < self.uniform_share, uniform, normal))

    def loss(self, clean, g):
        sigma = self.sigmas(clean.shape[0], g)
        noisy = clean + sigma[:, None, None, None] * torch.randn(clean.shape, generator=g)
        sd2 = nets.SIGMA_DATA**2
        weight = (sigma**2 + sd2) / (sigma**2 * sd2)
        return (weight[:, None, None, None] * (self.model(noisy, sigma) - clean) ** 2).mean()


class IrsdeObjective:
    """IR-SDE's maximum-likelihood objective (the seed's): L1 between the reverse-SDE mean the
    network implies and the optimal reverse mean from the true clean image, at a step t drawn
    uniformly from 1..T, for Gaussian noise of one level (mu = clean + sigma z, in [0,1])."""

    def __init__(self, arch, T, max_sigma, sigma, loss="mean-l1"):
        self.model = nets.IrsdeNoise(nets.make_unet(arch, cin=6), T)
        self.T, self.s, self.sigma = T, nets.irsde_schedule(T, max_sigma), sigma / 255
        self.kind = loss

    def loss(self, clean, g):
        s, n = self.s, clean.shape[0]
        x0 = (clean + 1) / 2
        mu = x0 + self.sigma * torch.randn(x0.shape, generator=g)
        t = torch.randint(1, self.T + 1, (n,), generator=g)
        v = lambda a: a[t][:, None, None, None]  # noqa: E731
        dt = s["dt"]
        z = torch.randn(x0.shape, generator=g)
        xt = mu + (x0 - mu) * torch.exp(-v(s["theta_bar"]) * dt) + v(s["sigma_bar"]) * z
        eps = self.model(xt, mu, t.float())
        if self.kind == "eps-mse":
            # the plain noise-matching loss, every step weighted alike (docs/builtin_models.md)
            return ((eps - z) ** 2).mean()
        score = -eps / v(s["sigma_bar"])
        x_sde = xt - (v(s["theta"]) * (mu - xt) - v(s["sigma"]) ** 2 * score) * dt
        a = torch.exp(-v(s["theta"]) * dt)
        b = torch.exp(-v(s["theta_bar"]) * dt)
        c = torch.exp(-s["theta_bar"][t - 1][:, None, None, None] * dt)
        x_opt = a * (1 - c**2) / (1 - b**2) * (xt - mu) + c * (1 - a**2) / (1 - b**2) * (x0 - mu) + mu
        return (x_sde - x_opt).abs().mean()


def make(args):
    if args.kind == "denoiser":
        return DenoiserObjective(args.arch, args.uniform_share)
    if args.kind == "irsde":
        return IrsdeObjective(args.arch, args.T, args.max_sigma, args.sigma, args.irsde_loss)
    raise SystemExit(f"error: unknown kind {args.kind}")
