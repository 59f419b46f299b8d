"""Test stand-in for DiffBIR v2.1's `diffbir/utils/tilevae.py` when a checkout lacks it (the
shared copy keeps only `diffbir/model`): only its `VAEHook` name, which the tiled VAE uses and an
export never calls. A checkout that has the real module finds it first."""

import importlib.abc
import importlib.machinery
import sys


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        if module.__name__.endswith(".tilevae"):

            class VAEHook:
                def __init__(self, *args, **kwargs):
                    raise NotImplementedError("tiled VAE stand-in")

            module.VAEHook = VAEHook


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name in ("diffbir.utils", "diffbir.utils.tilevae"):
            return importlib.machinery.ModuleSpec(name, _Loader(), is_package=name == "diffbir.utils")
        return None


sys.meta_path.append(_Finder())
