"""Test fixture: small-width, random-weight checkpoints in the seed repositories' own formats,
built with their own network code (REPO = the folder holding DDNM/, image-restoration-sde/,
DiffBIR-v2.0.0/), with the configs that describe them.

    python3 tests/export/make_checkpoints.py REPO OUT
"""

import contextlib
import copy
import importlib
import io
import os
import sys

import torch
import yaml

REPO, OUT = sys.argv[1], sys.argv[2]
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)


def jitter(module, scale=0.05):
    """Random weights everywhere (zero-initialised layers too, so every path is exercised)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return module


def write_yaml(name, data):
    with open(os.path.join(OUT, name), "w") as f:
        yaml.safe_dump(data, f)


def fresh_import(root, *names):
    """Import modules from `root` with nothing of another repository shadowing them."""
    for key in list(sys.modules):
        if key.split(".")[0] in ("model", "models", "utils", "guided_diffusion", "diffbir"):
            del sys.modules[key]
    sys.path.insert(0, root)
    try:
        return [importlib.import_module(n) for n in names]
    finally:
        sys.path.remove(root)


# --- DDNM: guided-diffusion's UNetModel (type openai, unconditional and class-conditional)
#     and DDIM's Model (type simple)
ddnm = os.path.join(REPO, "DDNM")
(script_util, models) = fresh_import(ddnm, "guided_diffusion.script_util", "guided_diffusion.models")
openai = {
    "type": "openai", "in_channels": 3, "out_channels": 3, "num_channels": 32, "num_heads": 2,
    "num_res_blocks": 1, "attention_resolutions": "16,8", "dropout": 0.0, "resamp_with_conv": True,
    "learn_sigma": True, "use_scale_shift_norm": True, "use_fp16": False, "resblock_updown": True,
    "num_heads_upsample": -1, "var_type": "fixedsmall", "num_head_channels": 8, "image_size": 32,
    "class_cond": False, "use_new_attention_order": False, "channel_mult": "1,2,2",
}
diffusion = {"beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02, "num_diffusion_timesteps": 1000}
data = {"dataset": "ImageNet", "image_size": 32, "channels": 3, "rescaled": True}
for name, cond in (("ddnm_openai", False), ("ddnm_openai_cc", True)):
    cfg = dict(openai, class_cond=cond)
    net = jitter(script_util.create_model(**cfg))
    torch.save(net.state_dict(), os.path.join(OUT, f"{name}.pt"))
    write_yaml(f"{name}.yml", {"data": data, "model": cfg, "diffusion": diffusion,
                               "time_travel": {"T_sampling": 10, "travel_length": 1, "travel_repeat": 1}})
simple = {"type": "simple", "in_channels": 3, "out_ch": 3, "ch": 32, "ch_mult": [1, 2], "num_res_blocks": 1,
          "attn_resolutions": [8], "dropout": 0.0, "var_type": "fixedsmall", "ema_rate": 0.999, "ema": True,
          "resamp_with_conv": True}
simple_cfg = {"data": dict(data, image_size=16, dataset="CelebA_HQ"), "model": simple, "diffusion": diffusion}


class _Ns:
    def __init__(self, d):
        for k, v in d.items():
            setattr(self, k, _Ns(v) if isinstance(v, dict) else v)


net = jitter(models.Model(_Ns(simple_cfg)))
torch.save(net.state_dict(), os.path.join(OUT, "ddnm_simple.ckpt"))
write_yaml("ddnm_simple.yml", simple_cfg)

# --- IR-SDE: ConditionalUNet and ConditionalNAFNet (deblurring task folder), and the
#     DenoisingSDE UNet (denoising-sde task folder)
sde_root = os.path.join(REPO, "image-restoration-sde", "codes", "config")
for task, which, setting, name in (
    ("deblurring", "ConditionalUNet", {"in_nc": 3, "out_nc": 3, "nf": 8, "depth": 2}, "irsde_unet"),
    ("deblurring", "ConditionalNAFNet",
     {"width": 8, "enc_blk_nums": [1, 1], "middle_blk_num": 1, "dec_blk_nums": [1, 1]}, "irsde_nafnet"),
    ("denoising-sde", "ConditionalUNet", {"in_nc": 3, "out_nc": 3, "nf": 8, "depth": 2}, "irsde_denoising"),
):
    (mods,) = fresh_import(os.path.join(sde_root, task), "models.modules")
    net = jitter(getattr(mods, which)(**setting))
    torch.save(net.state_dict(), os.path.join(OUT, f"{name}.pth"))
    sde = {"max_sigma": 10, "T": 20, "schedule": "cosine", "eps": 0.005} if task != "denoising-sde" \
        else {"max_sigma": 75, "T": 20}
    write_yaml(f"{name}.yml", {"name": name, "model": "denoising", "sde": sde,
                               "network_G": {"which_model_G": which, "setting": setting}})

# --- DiffBIR, both layouts (v2.0.0's model/, v2.1's diffbir/model/): ControlLDM parts from a
#     small cldm config, an SD-format checkpoint with its key prefixes, the IRControlNet weights,
#     and a small SwinIR stage 1
os.environ["ATTN_MODE"] = "vanilla"
net_cfg = {"use_checkpoint": False, "image_size": 32, "in_channels": 4, "out_channels": 4,
           "model_channels": 32, "attention_resolutions": [2, 1], "num_res_blocks": 1,
           "channel_mult": [1, 2], "num_head_channels": 16, "use_spatial_transformer": True,
           "use_linear_in_transformer": True, "transformer_depth": 1, "context_dim": 32, "legacy": False}
control_cfg = dict(net_cfg, hint_channels=4)
del control_cfg["out_channels"]


def diffbir(folder, package, name):
    cldm_mod, swinir_mod = fresh_import(os.path.join(REPO, folder), f"{package}.cldm", f"{package}.swinir")
    cldm_cfg = {
        "target": f"{package}.ControlLDM",
        "params": {
            "latent_scale_factor": 0.18215,
            "unet_cfg": dict(net_cfg, use_checkpoint=True),
            "vae_cfg": {"embed_dim": 4, "ddconfig": {"double_z": True, "z_channels": 4, "resolution": 64,
                                                     "in_channels": 3, "out_ch": 3, "ch": 32,
                                                     "ch_mult": [1, 1, 1, 1], "num_res_blocks": 1,
                                                     "attn_resolutions": [], "dropout": 0.0}},
            "clip_cfg": {"embed_dim": 32,
                         "vision_cfg": {"image_size": 28, "layers": 1, "width": 32, "head_width": 16,
                                        "patch_size": 14},
                         "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2,
                                      "layers": 3},
                         "layer": "penultimate"},
            "controlnet_cfg": dict(control_cfg, use_checkpoint=True),
        },
    }
    write_yaml(f"{name}_cldm.yml", cldm_cfg)
    params = copy.deepcopy(cldm_cfg["params"])
    params["unet_cfg"]["use_checkpoint"] = False
    params["controlnet_cfg"]["use_checkpoint"] = False
    cldm = jitter(cldm_mod.ControlLDM(**params), 0.02)
    sd = {}
    for prefix, module in (("model.diffusion_model", cldm.unet), ("first_stage_model", cldm.vae),
                           ("cond_stage_model", cldm.clip)):
        for k, v in module.state_dict().items():
            sd[f"{prefix}.{k}"] = v
    sd["model_ema.decay"] = torch.tensor(0.9999)  # an SD checkpoint holds more than the three parts
    torch.save({"state_dict": sd, "global_step": 0}, os.path.join(OUT, f"{name}_sd.ckpt"))
    torch.save(cldm.controlnet.state_dict(), os.path.join(OUT, f"{name}_control.pth"))
    swinir_cfg = {"target": f"{package}.SwinIR", "params": {
        "img_size": 64, "patch_size": 1, "in_chans": 3, "embed_dim": 16, "depths": [1], "num_heads": [2],
        "window_size": 8, "mlp_ratio": 2, "sf": 8, "img_range": 1.0, "upsampler": "nearest+conv",
        "resi_connection": "1conv", "unshuffle": True, "unshuffle_scale": 8}}
    write_yaml(f"{name}_swinir.yml", swinir_cfg)
    swinir = jitter(swinir_mod.SwinIR(**swinir_cfg["params"]), 0.02)
    torch.save({"state_dict": {f"module.{k}": v for k, v in swinir.state_dict().items()}},
               os.path.join(OUT, f"{name}_swinir.pth"))


with contextlib.redirect_stdout(io.StringIO()):  # the repositories print their attention setup
    diffbir("DiffBIR-v2.0.0", "model", "diffbir")
    diffbir("DiffBIR", "diffbir.model", "diffbir21")
print("checkpoints written to", OUT)
