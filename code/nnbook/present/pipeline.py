"""The view of the chapter "How this book is built": what this build ran on, and what the
tests' bands were measured from."""

from __future__ import annotations

import torch

from .. import bands
from ..experiments import current_profile
from ..train import precision_key
from . import View, register


def pipeline(profile=None, seed_offset: int = 0) -> View:
    profile = current_profile(profile)
    v = View("pipeline", profile)
    v.num("profile", profile, "text")
    v.num("torch", torch.__version__, "text")
    v.num("cpu", torch.backends.cpu.get_cpu_capability(), "text")
    key = precision_key(torch.device("cpu"))
    v.num("precision", {"auto-bf16": "bf16 (auto: this CPU has native bf16)",
                        "auto-fp32": "fp32 (auto: this CPU has no native bf16)"}.get(key, key),
          "text")
    measured = bands.profile(profile).get("measured", {})
    v.num("band_builds", measured.get("builds", 0), "text")
    v.num("band_machine", measured.get("machine", "(not measured)"), "text")
    v.num("band_date", (measured.get("date") or "–")[:10], "text")
    return v


register("pipeline", "pipeline:pipeline", chapter="pipeline")
