"""Segmind-Vega's architecture with random weights, full size or tiny, built offline.

Nothing here is served: the GPU benchmark times the full-size architecture (speed does not
depend on the weights), and the tests and the benchmark's ``--smoke`` mode run the serving
code on a tiny pipeline of the same shape. Neither can download weights, so the CLIP
tokenizer is made from scratch too: a byte-level vocabulary with no merges, which yields
77 token ids a prompt like the real one does (what the text encoders cost is the same).

Shapes come from public sources (ComfyUI's model detection, checked against Segmind's
parameter counts): Vega's UNet is SDXL's layout with fewer blocks and
no attention in the middle; its text encoders (CLIP-L, OpenCLIP bigG) and VAE are SDXL's.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline
from diffusers import UNet2DConditionModel as UNet
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

TOKENS = 77
CLIP_VOCAB = 49408  # the real encoders' embedding table; the byte tokenizer uses its start
BYTE_VOCAB = 2 * 256 + 2  # bytes, bytes + "</w>", then start and end (the end id highest)
START_ID, END_ID = BYTE_VOCAB - 2, BYTE_VOCAB - 1

#: Segmind-Vega's UNet (745M parameters).
VEGA_UNET: dict[str, Any] = {
    "sample_size": 128,
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": (320, 640, 1280),
    "layers_per_block": 2,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "mid_block_type": "UNetMidBlock2D",
    "transformer_layers_per_block": (1, 1, 2),
    "attention_head_dim": (5, 10, 20),
    "use_linear_projection": True,
    "cross_attention_dim": 2048,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,
}
#: SDXL's text encoders: CLIP ViT-L/14 and OpenCLIP ViT-bigG/14 (projection 1280).
CLIP_L: dict[str, Any] = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "projection_dim": 768,
    "hidden_act": "quick_gelu",
}
CLIP_BIG_G: dict[str, Any] = {
    "hidden_size": 1280,
    "intermediate_size": 5120,
    "num_attention_heads": 20,
    "num_hidden_layers": 32,
    "projection_dim": 1280,
    "hidden_act": "gelu",
}
#: SDXL's VAE (83.7M parameters); ``force_upcast`` because it overflows in fp16.
SDXL_VAE: dict[str, Any] = {
    "in_channels": 3,
    "out_channels": 3,
    "block_out_channels": (128, 256, 512, 512),
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "layers_per_block": 2,
    "latent_channels": 4,
    "sample_size": 1024,
    "scaling_factor": 0.13025,
    "force_upcast": True,
}

#: The same shapes shrunk, after diffusers' own SDXL pipeline tests: renders 64 x 64 in ms.
TINY_UNET: dict[str, Any] = {
    **VEGA_UNET,
    "sample_size": 32,
    "block_out_channels": (4, 8),
    "layers_per_block": 1,
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "UpBlock2D"),
    "transformer_layers_per_block": (1, 2),
    "attention_head_dim": (2, 4),
    "cross_attention_dim": 64,  # the two 32-wide text encoders side by side
    "addition_time_embed_dim": 8,
    "projection_class_embeddings_input_dim": 80,  # 6 * 8 + the pooled 32
    "norm_num_groups": 1,
}
TINY_CLIP: dict[str, Any] = {
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "projection_dim": 32,
    "hidden_act": "gelu",
}
TINY_VAE: dict[str, Any] = {
    **SDXL_VAE,
    "block_out_channels": (8, 16),
    "down_block_types": ("DownEncoderBlock2D",) * 2,
    "up_block_types": ("UpDecoderBlock2D",) * 2,
    "layers_per_block": 1,
    "sample_size": 64,
    "norm_num_groups": 4,
}


def _byte_symbols() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values, which CLIP's BPE starts from."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    others = [b for b in range(256) if b not in printable]
    codes = dict(zip(printable, printable, strict=True))
    codes.update({b: 256 + n for n, b in enumerate(others)})
    return [chr(codes[b]) for b in range(256)]


def byte_tokenizer(work_dir: Path | None = None) -> CLIPTokenizer:
    """A CLIP tokenizer with no merges: every byte a token, end-of-text the highest id.

    CLIP pools its text embedding at the argmax of the ids, so the end token must be the
    highest one; ``model_max_length`` 77 must be set or transformers 5 fails in the pipeline.
    """
    symbols = _byte_symbols()
    vocab = {symbol: index for index, symbol in enumerate(symbols)}
    vocab.update({f"{symbol}</w>": 256 + index for index, symbol in enumerate(symbols)})
    vocab.update({"<|startoftext|>": START_ID, "<|endoftext|>": END_ID})
    with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
        folder = Path(scratch)
        (folder / "vocab.json").write_text(json.dumps(vocab))
        (folder / "merges.txt").write_text("#version: 0.2\n")
        config = {"model_max_length": TOKENS, "tokenizer_class": "CLIPTokenizer"}
        (folder / "tokenizer_config.json").write_text(json.dumps(config))
        # from_pretrained reads a folder the same way in transformers 4 and 5.
        return CLIPTokenizer.from_pretrained(folder)  # nosec B615 # a local folder, not the Hub


def _clip_config(shape: dict[str, Any], vocab_size: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        **shape,
        vocab_size=vocab_size,
        max_position_embeddings=TOKENS,
        bos_token_id=START_ID,
        eos_token_id=END_ID,
        pad_token_id=END_ID,
    )


def build_pipeline(
    *, tiny: bool, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> StableDiffusionXLPipeline:
    """An SDXL pipeline of Vega's shape with random weights (seeded: the same every time).

    Modules are made directly on ``device``: initialising 1.6 billion parameters on a CPU
    would take longer than the benchmark itself.
    """
    unet_shape, clip_l, clip_g, vae_shape = (
        (TINY_UNET, TINY_CLIP, TINY_CLIP, TINY_VAE)
        if tiny
        else (VEGA_UNET, CLIP_L, CLIP_BIG_G, SDXL_VAE)
    )
    vocab = BYTE_VOCAB if tiny else CLIP_VOCAB
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet(**unet_shape)
        text_encoder = CLIPTextModel(_clip_config(clip_l, vocab))
        text_encoder_2 = CLIPTextModelWithProjection(_clip_config(clip_g, vocab))
        vae = AutoencoderKL(**vae_shape)
    tokenizer = byte_tokenizer()
    # Vega's own scheduler config (SDXL's); the server swaps in LCMScheduler.from_config.
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="leading",
        steps_offset=1,
    )
    pipe = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=scheduler,
    )
    return pipe if dtype == torch.float32 else pipe.to(dtype=dtype)


def parameter_count(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())
