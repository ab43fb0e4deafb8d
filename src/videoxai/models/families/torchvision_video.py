"""torchvision's video classifiers behind the adapter interface (Grad-CAM only: they have no attention maps to roll out).

Methods ``r3d_18``, ``r2plus1d_18``, ``mc3_18``, ``s3d``, ``mvit_v2_s``, ``swin3d_t``.
Kinetics-400 weights are used only from the local torch hub cache
(``$TORCH_HOME/hub/checkpoints/<file>``, loaded with ``weights_only=True``);
nothing is downloaded. A fine-tuned checkpoint stores ``num_classes`` and
class names in its ``config.json``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision.models.video as tvv
from torch import nn

from videoxai.models.base import GradCamTarget, InputSpec, VideoClassifier
from videoxai.models.families.registry import register_method

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


@dataclass(frozen=True)
class Arch:
    builder: Callable[..., nn.Module]
    weights: object  # the torchvision weights enum member
    gradcam_layer: str
    num_frames: int
    size: int
    fixed_size: bool
    mean: tuple[float, float, float] = KINETICS_MEAN
    std: tuple[float, float, float] = KINETICS_STD


ARCHS: dict[str, Arch] = {
    # r3d_18's layer4 has only 2 time slices at 16 frames; layer3 has 4 (set gradcam_layer to choose)
    "r3d_18": Arch(tvv.r3d_18, tvv.R3D_18_Weights.KINETICS400_V1, "layer4", 16, 112, False),
    "r2plus1d_18": Arch(
        tvv.r2plus1d_18,
        tvv.R2Plus1D_18_Weights.KINETICS400_V1,
        "layer4",
        16,
        112,
        False,
    ),
    "mc3_18": Arch(tvv.mc3_18, tvv.MC3_18_Weights.KINETICS400_V1, "layer4", 16, 112, False),
    "s3d": Arch(tvv.s3d, tvv.S3D_Weights.KINETICS400_V1, "features", 16, 224, True),
    # mvit_v2_s classifies from its CLS token only: at "norm" (after the last block) the patch tokens
    # get exactly zero gradient; the last block's attention input still feeds the CLS token
    "mvit_v2_s": Arch(
        tvv.mvit_v2_s,
        tvv.MViT_V2_S_Weights.KINETICS400_V1,
        "blocks.15.norm1",
        16,
        224,
        True,
        (0.45,) * 3,
        (0.225,) * 3,
    ),
    "swin3d_t": Arch(
        tvv.swin3d_t,
        tvv.Swin3D_T_Weights.KINETICS400_V1,
        "norm",
        16,
        224,
        False,
        (0.485, 0.456, 0.406),
        (0.229, 0.224, 0.225),
    ),
}


def hub_weights_path(arch: str) -> Path:
    """Where torch hub keeps ``arch``'s Kinetics-400 weights file (whether or not it is there)."""
    url = ARCHS[arch].weights.url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def load_hub_weights(arch: str) -> dict[str, torch.Tensor]:
    """Kinetics-400 weights of ``arch`` from the local hub cache; a clear error says what to fetch where."""
    path = hub_weights_path(arch)
    if not path.is_file():
        raise FileNotFoundError(
            f"Kinetics-400 weights for {arch} are not in the torch hub cache: expected {path}. "
            f"Download {ARCHS[arch].weights.url} on a machine with internet and put the file there "
            f"(or set TORCH_HOME); nothing is downloaded at run time."
        )
    from videoxai.models.checkpoints.weights import read_state_dict  # safe loading (weights_only=True)

    return read_state_dict(path)


class TorchvisionVideo(VideoClassifier):
    """A torchvision video network; ``forward`` takes (B, T, C, H, W) like every adapter."""

    arch_name: str = ""

    def __init__(
        self,
        class_names: Sequence[str],
        gradcam_layer: str | None = None,
        pretrained: str | None = None,
        num_frames: int | None = None,
        size: int | None = None,
    ):
        super().__init__()
        arch = ARCHS[self.arch_name]
        self.class_names = list(class_names)
        size = size or arch.size
        if arch.fixed_size and size != arch.size:  # checked before building: the big nets take seconds to init
            raise ValueError(f"{self.arch_name} accepts only {arch.size}x{arch.size} input, not {size}")
        self.net = arch.builder(weights=None, num_classes=len(self.class_names))
        if pretrained == "kinetics400":
            if len(self.class_names) != 400:
                raise ValueError(f"Kinetics-400 weights have 400 classes, got {len(self.class_names)} class names")
            self.net.load_state_dict(load_hub_weights(self.arch_name))
        elif pretrained is not None:
            raise ValueError(f"pretrained must be None or 'kinetics400', got {pretrained!r}")
        self.pretrained = pretrained
        self.input_spec = InputSpec(
            num_frames=num_frames or arch.num_frames,
            size=size,
            mean=arch.mean,
            std=arch.std,
            fixed_size=arch.fixed_size,
        )
        self.gradcam_layer = gradcam_layer or arch.gradcam_layer
        self._module_by_name(self.gradcam_layer)  # fail now on a wrong layer name
        self._grid_thw: tuple[int, int, int] | None = None

    # ---- configuration ----
    def get_config(self) -> dict:
        return {
            "class_names": list(self.class_names),
            "model": {
                "gradcam_layer": self.gradcam_layer,
                "num_frames": self.input_spec.num_frames,
                "size": self.input_spec.size,
            },
            "input_spec": self.input_spec.to_dict(),
        }

    @classmethod
    def from_config(cls, config: dict) -> TorchvisionVideo:
        m = config.get("model", {})
        return cls(
            config["class_names"],
            gradcam_layer=m.get("gradcam_layer"),
            pretrained=m.get("pretrained"),
            num_frames=m.get("num_frames"),
            size=m.get("size"),
        )

    def set_class_names(self, class_names: Sequence[str]) -> None:
        """A CNN's classifier is fixed to its training classes: another class list cannot be evaluated."""
        if list(class_names) != self.class_names:
            raise ValueError(
                f"{self.arch_name} has a fixed {len(self.class_names)}-way classifier trained on its own classes; "
                f"it cannot score a different class list ({len(class_names)} classes). Fine-tune it on that dataset."
            )

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Accept the bare torchvision network's keys too (hub files, users' fine-tuned state_dicts)."""
        if state_dict and not any(k.startswith("net.") for k in state_dict):
            state_dict = {f"net.{k}": v for k, v in state_dict.items()}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    # ---- the adapter interface ----
    def _check(self, video: torch.Tensor) -> None:
        if video.ndim != 5 or video.shape[2] != 3:
            raise ValueError(f"expected a clip batch (B, T, 3, H, W), got shape {tuple(video.shape)}")
        h, w = video.shape[-2:]
        if self.input_spec.fixed_size and (h, w) != (
            self.input_spec.size,
            self.input_spec.size,
        ):
            raise ValueError(
                f"{self.arch_name} accepts only {self.input_spec.size}x{self.input_spec.size} input, got {h}x{w}: "
                f"set the input size to {self.input_spec.size}"
            )
        if self.arch_name == "mvit_v2_s" and video.shape[1] != 16:
            raise ValueError(f"mvit_v2_s accepts only 16 frames, got {video.shape[1]}")

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        if video.ndim == 6:
            b, v = video.shape[:2]
            return self.forward(video.flatten(0, 1)).reshape(b, v, -1).mean(1)
        self._check(video)
        t, h, w = video.shape[1], video.shape[-2], video.shape[-1]
        if (
            self.arch_name == "mvit_v2_s" or self.arch_name == "swin3d_t"
        ):  # token grid after its (2, 4, 4)-strided stem and 3 pooling stages
            self._grid_thw = (t // 2, h // 32, w // 32)
        return self.net(video.transpose(1, 2))

    def _module_by_name(self, name: str) -> nn.Module:
        try:
            return self.net.get_submodule(name)
        except AttributeError:
            layers = [n for n, _ in self.net.named_children()]
            raise ValueError(
                f"{self.arch_name} has no layer {name!r} for Grad-CAM; top-level layers: {layers}"
            ) from None

    def set_gradcam_layer(self, name: str) -> None:
        """Choose the Grad-CAM layer by dotted module name (e.g. r3d_18 ``layer3`` for finer time slices)."""
        self._module_by_name(name)
        self.gradcam_layer = name

    def gradcam_target(self) -> GradCamTarget:
        """The configured layer; its output mapped to (B, C, T', h, w)."""
        module = self._module_by_name(self.gradcam_layer)
        if self.arch_name == "swin3d_t" and self.gradcam_layer in ("norm", "features"):
            return GradCamTarget(module, lambda a: a.permute(0, 4, 1, 2, 3))  # (B, T, H, W, C) -> (B, C, T, H, W)
        if self.arch_name == "mvit_v2_s" and (self.gradcam_layer == "norm" or self.gradcam_layer.startswith("blocks")):
            return GradCamTarget(module, self._mvit_grid)
        return GradCamTarget(module)

    def _mvit_grid(self, a: torch.Tensor) -> torch.Tensor:
        if isinstance(a, tuple):  # a block returns (tokens, thw)
            a = a[0]
        t, h, w = self._grid_thw or (8, 7, 7)
        b, n, c = a.shape
        if n != 1 + t * h * w:
            raise ValueError(
                f"mvit_v2_s layer {self.gradcam_layer} has {n} tokens, not 1 + {t}x{h}x{w}: use a layer of the last stage, e.g. 'blocks.15.norm1'"
            )
        return a[:, 1:].reshape(b, t, h, w, c).permute(0, 4, 1, 2, 3)


def kinetics400_classes(arch: str) -> list[str]:
    """Kinetics-400 class names (shipped inside torchvision, no download)."""
    return list(ARCHS[arch].weights.meta["categories"])


def hub_config(arch: str) -> dict:
    """The config.json torch hub's Kinetics-400 weights of ``arch`` come without: this family's conversion of them."""
    a = ARCHS[arch]
    return {
        "method": arch,
        "class_names": kinetics400_classes(arch),
        "model": {},
        "input_spec": {
            "num_frames": a.num_frames,
            "size": a.size,
            "mean": a.mean,
            "std": a.std,
            "fixed_size": a.fixed_size,
        },
    }


def _register(name: str) -> type[TorchvisionVideo]:
    cls = type(
        name,
        (TorchvisionVideo,),
        {"arch_name": name, "__doc__": f"torchvision {name} adapter."},
    )
    return register_method(name)(cls)


for _name in ARCHS:
    _register(_name)
