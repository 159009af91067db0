"""Tiny text-to-video pipelines in diffusers format, built offline from small random configs (as diffusers'
own tests build theirs), for the diffusers engine's tests: nothing comes from the Hugging Face hub.

* ``build_ltx(path)``: an LTXPipeline (a current pipeline: ``callback_on_step_end``), about 0.5 MB.
* ``build_text_to_video_sd(path)``: a TextToVideoSDPipeline (an older one: the per-step ``callback``).

The tokenizer is a byte-pair model trained here with ``tokenizers`` on a few sentences and wrapped as a
transformers fast tokenizer. Weights are random (seeded): the video is noise, but every stage runs (text
encoder, denoising steps with their callbacks, VAE decode) and the output has the shapes a real model's has.

Run as a script to build one: ``python -m tests.support.tiny_pipeline DIR [ltx|sd]``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_CORPUS = [
    "A boat on a calm sea at dawn",
    "A city street in the rain at night, neon lights",
    "Mountains under snow, a slow pan across the valley",
    "A cat sleeping by the window in the afternoon sun",
]


def _tokenizer(max_length: int, *, clip: bool = False) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>", "<s>"]
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(_CORPUS, trainers.BpeTrainer(vocab_size=128, special_tokens=specials))
    extra = {"bos_token": "<s>"} if clip else {}
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=max_length,
        **extra,
    )


def build_ltx(path: Path) -> Path:
    """Save a tiny LTXPipeline into ``path`` (its VAE: 4x fewer frames in latent space, 32x fewer pixels
    per side at the pipeline's check; generate at 64 x 32 to keep a step in tens of milliseconds)."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    tokenizer = _tokenizer(128)
    text_encoder = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
        )
    )
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=1,
        caption_channels=32,
    )
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    pipe = LTXPipeline(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
    )
    pipe.save_pretrained(str(path))
    return path


def build_text_to_video_sd(path: Path) -> Path:
    """Save a tiny TextToVideoSDPipeline (UNet3D, a one-block VAE, a CLIP text encoder) into ``path``."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, TextToVideoSDPipeline, UNet3DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tokenizer = _tokenizer(77, clip=True)
    unet = UNet3DConditionModel(
        block_out_channels=(4, 8),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
        cross_attention_dim=4,
        attention_head_dim=4,
        norm_num_groups=2,
    )
    vae = AutoencoderKL(
        block_out_channels=(8,),
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D"],
        latent_channels=4,
        sample_size=32,
        norm_num_groups=2,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            hidden_size=4,
            intermediate_size=16,
            layer_norm_eps=1e-05,
            num_attention_heads=2,
            num_hidden_layers=2,
            vocab_size=len(tokenizer),
            hidden_act="gelu",
            projection_dim=32,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="linear",
        clip_sample=False,
        set_alpha_to_one=False,
    )
    pipe = TextToVideoSDPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler
    )
    pipe.save_pretrained(str(path))
    return path


if __name__ == "__main__":
    kind = sys.argv[2] if len(sys.argv) > 2 else "ltx"
    (build_ltx if kind == "ltx" else build_text_to_video_sd)(Path(sys.argv[1]))
