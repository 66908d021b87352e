"""atp-tiny: the PyTorch reference (the specification) of the project's LLaVA-style model.

Three parts, in the order the data flows (docs/data.md, docs/architecture.md):
  1. a CLIP/SigLIP-style ViT over 8x8 patches of a 96x96 image -> 144 visual tokens,
  2. the LLaVA-1.5 projector (Linear -> GELU -> Linear) into the LLM's width,
  3. a Llama-style decoder (RMSNorm, RoPE rotate_half, SwiGLU, causal GQA attention, no biases).
Parameter names are exactly Hugging Face LLaVA/CLIP/Llama names, so `state_dict()` is the export format.
Everything is configured by one HF-style config.json (training/config.json); nothing else holds a dimension.
Relies only on torch (1.13: no scaled_dot_product_attention, so attention is written out, which is also what
gives the probabilities ATP needs).
"""

import math
from dataclasses import dataclass, field, asdict, fields
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------------------
# Config


@dataclass
class VisionConfig:
    model_type: str = "clip_vision_model"
    image_size: int = 96  # ShapesVQA scenes are 96x96 RGB
    patch_size: int = 8  # 96/8 = 12 -> 12x12 = 144 visual tokens, the unit ATP prunes
    num_channels: int = 3
    hidden_size: int = 128  # small: the scenes are flat-coloured shapes; measured for CPU bf16 throughput
    intermediate_size: int = 512  # 4x hidden, as CLIP
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    hidden_act: str = "gelu"  # exact erf GELU (not CLIP's quick_gelu): one less special case for the port
    layer_norm_eps: float = 1e-5


@dataclass
class TextConfig:
    model_type: str = "llama"
    vocab_size: int = 0  # read from data/tokenizer.json at train time, written into the exported config
    hidden_size: int = 192
    intermediate_size: int = 512  # SwiGLU: ~8/3 x hidden, rounded to a multiple of 64
    num_hidden_layers: int = 8  # >= 6 so ATP modules can sit after early layers (e.g. 1, 3, 5)
    num_attention_heads: int = 4
    num_key_value_heads: int = 4  # == heads: plain MHA; fewer gives grouped-query attention
    hidden_act: str = "silu"
    max_position_embeddings: int = 256  # 1 <bos> + 144 image + question + <sep> + caption + <eos> < 200
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = False  # Llama default; the vocab is tiny, so tying saves nothing
    pad_token_id: int = 0
    bos_token_id: int = 1
    eos_token_id: int = 2


@dataclass
class LlavaConfig:
    model_type: str = "llava"
    vision_config: VisionConfig = field(default_factory=VisionConfig)
    text_config: TextConfig = field(default_factory=TextConfig)
    projector_hidden_act: str = "gelu"  # LLaVA-1.5 two-layer MLP projector
    image_token_index: int = 3  # <image>: placeholder ids replaced by the 144 projected visual tokens
    image_seq_length: int = 144
    # Which vision hidden state feeds the projector: index into [embeddings, layer 0 out, ..., layer L-1 out];
    # -1 = the last layer. Then `vision_feature_post_layernorm` says whether post_layernorm is applied to it
    # (SigLIP-style; HF CLIP+LLaVA would skip it). atp-tiny: last layer, then post_layernorm.
    vision_feature_layer: int = -1
    vision_feature_post_layernorm: bool = True
    vision_feature_select_strategy: str = "full"  # no class token to drop
    # Pixels: u8 RGB -> x/255 -> (x - mean) / std per channel, channel-first.
    image_mean: List[float] = field(default_factory=lambda: [0.5, 0.5, 0.5])
    image_std: List[float] = field(default_factory=lambda: [0.5, 0.5, 0.5])
    pad_token_id: int = 0
    bos_token_id: int = 1
    eos_token_id: int = 2
    sep_token_id: int = 4  # ends the question; the answer follows it
    unk_token_id: int = 5

    @staticmethod
    def from_dict(d: dict) -> "LlavaConfig":
        def pick(cls, src):
            names = {f.name for f in fields(cls)}
            return {k: v for k, v in src.items() if k in names}

        top = pick(LlavaConfig, d)
        top["vision_config"] = VisionConfig(**pick(VisionConfig, d.get("vision_config", {})))
        top["text_config"] = TextConfig(**pick(TextConfig, d.get("text_config", {})))
        return LlavaConfig(**top)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["architectures"] = ["LlavaForConditionalGeneration"]
        return d


# ----------------------------------------------------------------------------------------------------------
# Vision tower (CLIP names)


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, c: VisionConfig):
        super().__init__()
        self.patch_embedding = nn.Conv2d(c.num_channels, c.hidden_size, c.patch_size, c.patch_size, bias=False)
        self.num_patches = (c.image_size // c.patch_size) ** 2
        self.position_embedding = nn.Embedding(self.num_patches, c.hidden_size)  # learned, no class token

    def forward(self, pixel_values, out=None):
        x = self.patch_embedding(pixel_values)  # (B, C, 12, 12)
        x = x.flatten(2).transpose(1, 2)  # (B, 144, C), row-major over the patch grid
        if out is not None:
            out["vision.patch_embeds"] = x
        return x + self.position_embedding.weight[None]  # (B, 144, C)


class CLIPAttention(nn.Module):
    def __init__(self, c: VisionConfig):
        super().__init__()
        self.n_head = c.num_attention_heads
        self.head_dim = c.hidden_size // c.num_attention_heads
        self.q_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.k_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.v_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.out_proj = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x):
        B, T, C = x.shape
        q = self.q_proj(x).view(B, T, self.n_head, self.head_dim).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k_proj(x).view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))  # (B, nh, T, T), bidirectional
        att = F.softmax(att.float(), dim=-1).to(v.dtype)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)  # (B, T, C)
        return self.out_proj(y)


class CLIPMLP(nn.Module):
    def __init__(self, c: VisionConfig):
        super().__init__()
        self.fc1 = nn.Linear(c.hidden_size, c.intermediate_size)
        self.fc2 = nn.Linear(c.intermediate_size, c.hidden_size)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact erf GELU


class CLIPEncoderLayer(nn.Module):
    def __init__(self, c: VisionConfig):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.self_attn = CLIPAttention(c)
        self.layer_norm2 = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.mlp = CLIPMLP(c)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))  # pre-LN
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, c: VisionConfig):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(c) for _ in range(c.num_hidden_layers)])


class CLIPVisionTransformer(nn.Module):
    def __init__(self, c: VisionConfig):
        super().__init__()
        self.embeddings = CLIPVisionEmbeddings(c)
        self.encoder = CLIPEncoder(c)
        self.post_layernorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)


class CLIPVisionModel(nn.Module):
    """`vision_tower.vision_model.*`; returns the hidden states [embeddings, after layer 0, ...]."""

    def __init__(self, c: VisionConfig):
        super().__init__()
        self.vision_model = CLIPVisionTransformer(c)

    def forward(self, pixel_values, out=None) -> List[torch.Tensor]:
        vm = self.vision_model
        x = vm.embeddings(pixel_values, out)  # (B, 144, Cv)
        hidden = [x]
        for layer in vm.encoder.layers:
            x = layer(x)
            hidden.append(x)
        return hidden


# ----------------------------------------------------------------------------------------------------------
# Projector (LLaVA-1.5)


class LlavaMultiModalProjector(nn.Module):
    def __init__(self, c: LlavaConfig):
        super().__init__()
        self.linear_1 = nn.Linear(c.vision_config.hidden_size, c.text_config.hidden_size)
        self.linear_2 = nn.Linear(c.text_config.hidden_size, c.text_config.hidden_size)

    def forward(self, x):
        return self.linear_2(F.gelu(self.linear_1(x)))  # (B, 144, Ct)


# ----------------------------------------------------------------------------------------------------------
# Language model (Llama names)


class LlamaRMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        xf = x.float()  # statistics in f32 even under bf16 autocast, as Llama does
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def rope_cos_sin(position_ids, head_dim: int, theta: float):
    """position_ids (B, T) int -> cos, sin (B, T, hd); frequencies paired as rotate_half expects."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=position_ids.device)
                               / head_dim))  # (hd/2,)
    freqs = position_ids.float()[..., None] * inv_freq  # (B, T, hd/2)
    emb = torch.cat([freqs, freqs], dim=-1)  # (B, T, hd)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x, cos, sin):
    """x (B, nh, T, hd); cos/sin (B, T, hd)."""
    cos, sin = cos[:, None].to(x.dtype), sin[:, None].to(x.dtype)
    return x * cos + rotate_half(x) * sin


def repeat_kv(x, rep: int):
    """(B, nkv, S, hd) -> (B, nkv * rep, S, hd), kv head j serving query heads j*rep .. j*rep + rep - 1."""
    B, n_kv, S, hd = x.shape
    return x[:, :, None].expand(B, n_kv, rep, S, hd).reshape(B, n_kv * rep, S, hd)


class LlamaAttention(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        self.n_head = c.num_attention_heads
        self.n_kv = c.num_key_value_heads
        self.head_dim = c.hidden_size // c.num_attention_heads
        self.q_proj = nn.Linear(c.hidden_size, self.n_head * self.head_dim, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, self.n_kv * self.head_dim, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, self.n_kv * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.n_head * self.head_dim, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, attn_bias, past_kv=None, key_mul=None):
        """x (B, T, C); attn_bias (B|1, 1, T, S) added to the logits: 0 = attend, -inf-like = masked, and
        log(m) for a soft per-key mask m (ATP training: exp(logit) * m before normalising).
        past_kv: (k, v) each (B, n_kv, P, hd) from earlier tokens, S = P + T. Returns y, (k, v), probs.
        key_mul (B|1, 1, T|1, S) or None: ATP's per-key mask m in [0, 1] applied as exp(logit) * m / sum
        (== attn_bias log(m), but differentiable where m == 0: training/atp.py's straight-through masks)."""
        B, T, C = x.shape
        q = self.q_proj(x).view(B, T, self.n_head, self.head_dim).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k_proj(x).view(B, T, self.n_kv, self.head_dim).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.v_proj(x).view(B, T, self.n_kv, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if past_kv is not None:
            k = torch.cat([past_kv[0].to(k.dtype), k], dim=2)  # (B, nkv, S, hd)
            v = torch.cat([past_kv[1].to(v.dtype), v], dim=2)
        present = (k, v)
        rep = self.n_head // self.n_kv
        if rep > 1:  # grouped-query attention: each kv head serves `rep` query heads
            k, v = repeat_kv(k, rep), repeat_kv(v, rep)  # (B, nh, S, hd)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))  # (B, nh, T, S)
        probs = F.softmax(att.float() + attn_bias, dim=-1)  # (B, nh, T, S) f32
        if key_mul is not None:  # renormalise over the kept keys (<bos> is never masked: no empty row)
            probs = probs * key_mul
            probs = probs / probs.sum(-1, keepdim=True).clamp_min(1e-30)
        y = (probs.to(v.dtype) @ v).transpose(1, 2).reshape(B, T, self.n_head * self.head_dim)
        return self.o_proj(y), present, probs


class LlamaMLP(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))  # SwiGLU


class LlamaDecoderLayer(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        self.input_layernorm = LlamaRMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = LlamaAttention(c)
        self.post_attention_layernorm = LlamaRMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = LlamaMLP(c)

    def forward(self, x, cos, sin, attn_bias, past_kv=None, key_mul=None):
        a, present, probs = self.self_attn(self.input_layernorm(x), cos, sin, attn_bias, past_kv, key_mul)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present, probs


class LlamaModel(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([LlamaDecoderLayer(c) for _ in range(c.num_hidden_layers)])
        self.norm = LlamaRMSNorm(c.hidden_size, c.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    """`language_model.*`: decoder over input embeddings with an optional KV cache."""

    def __init__(self, c: TextConfig):
        super().__init__()
        self.config = c
        self.model = LlamaModel(c)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)

    def forward(self, inputs_embeds, position_ids, attn_bias, past=None, out=None, output_attentions=False):
        """inputs_embeds (B, T, C), position_ids (B, T), attn_bias (B|1, 1, T, S), past: list per layer of
        (k, v) or None. Returns logits (B, T, V), present (list of (k, v)), attentions (list or None)."""
        c = self.config
        cos, sin = rope_cos_sin(position_ids, c.hidden_size // c.num_attention_heads, c.rope_theta)
        x = inputs_embeds
        present, attentions = [], [] if output_attentions else None
        for i, layer in enumerate(self.model.layers):
            x, kv, probs = layer(x, cos, sin, attn_bias, None if past is None else past[i])
            present.append(kv)
            if output_attentions:
                attentions.append(probs)
            if out is not None:
                out[f"llm.hidden.{i}"] = x
        x = self.model.norm(x)  # (B, T, C)
        if out is not None:
            out["llm.norm_out"] = x
        return self.lm_head(x), present, attentions


def causal_bias(T: int, past: int = 0, device=None) -> torch.Tensor:
    """(1, 1, T, past + T) additive mask: query i sees every past key and keys <= i of its own block."""
    keep = torch.ones(T, past + T, dtype=torch.bool, device=device).tril(diagonal=past)
    return torch.zeros(T, past + T, device=device).masked_fill(~keep, torch.finfo(torch.float32).min)[None, None]


# ----------------------------------------------------------------------------------------------------------
# The whole model


class LlavaForConditionalGeneration(nn.Module):
    def __init__(self, c: LlavaConfig):
        super().__init__()
        self.config = c
        self.vision_tower = CLIPVisionModel(c.vision_config)
        self.multi_modal_projector = LlavaMultiModalProjector(c)
        self.language_model = LlamaForCausalLM(c.text_config)
        self.apply(self._init_weights)
        # GPT-2 style: residual-branch outputs scaled down by depth so the residual stream starts tame
        for name, p in self.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight", "out_proj.weight", "fc2.weight")):
                n = c.text_config.num_hidden_layers if "language_model" in name else c.vision_config.num_hidden_layers
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n))

    @staticmethod
    def _init_weights(m):
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def pixels_from_u8(self, images_u8: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 -> (B, 3, H, W) f32 normalised with image_mean/image_std."""
        c = self.config
        x = images_u8.float().div(255.0).permute(0, 3, 1, 2)
        mean = torch.tensor(c.image_mean, device=x.device)[None, :, None, None]
        std = torch.tensor(c.image_std, device=x.device)[None, :, None, None]
        return (x - mean) / std

    def image_features(self, pixel_values, out=None):
        """(B, 3, H, W) -> projected visual tokens (B, 144, Ct)."""
        c = self.config
        hidden = self.vision_tower(pixel_values, out)
        x = hidden[c.vision_feature_layer]  # (B, 144, Cv)
        if c.vision_feature_post_layernorm:
            x = self.vision_tower.vision_model.post_layernorm(x)
        if out is not None:
            out["vision.encoder_out"] = x
        x = self.multi_modal_projector(x)  # (B, 144, Ct)
        if out is not None:
            out["projector_out"] = x
        return x

    def embed(self, input_ids, image_feats):
        """Token embeddings with each image's <image> placeholders replaced by its visual tokens, in order.
        input_ids (B, T) with exactly image_seq_length <image> ids per row; image_feats (B, 144, Ct)."""
        x = self.language_model.model.embed_tokens(input_ids)  # (B, T, Ct)
        is_img = input_ids == self.config.image_token_index  # (B, T)
        k = (is_img.long().cumsum(1) - 1).clamp(0, image_feats.shape[1] - 1)  # (B, T): which visual token
        feats = torch.gather(image_feats.to(x.dtype), 1, k[..., None].expand(-1, -1, x.shape[-1]))  # (B, T, Ct)
        return torch.where(is_img[..., None], feats, x)  # a gather, not masked_scatter: exports to ONNX

    def forward(self, pixel_values, input_ids, out: Optional[Dict[str, torch.Tensor]] = None,
                output_attentions: bool = False):
        """Full-prompt forward (no cache): pixel_values (B, 3, 96, 96), input_ids (B, T) -> logits (B, T, V).
        If `out` is a dict it receives named intermediates; attention probabilities are returned on request."""
        B, T = input_ids.shape
        feats = self.image_features(pixel_values, out)
        x = self.embed(input_ids, feats)  # (B, T, Ct)
        pos = torch.arange(T, device=input_ids.device)[None].expand(B, T)
        logits, _, attentions = self.language_model(x, pos, causal_bias(T, device=x.device), None, out,
                                                    output_attentions)
        if out is not None:
            out["logits"] = logits
        return (logits, attentions) if output_attentions else logits


def load_config(path: str) -> LlavaConfig:
    import json

    with open(path) as f:
        return LlavaConfig.from_dict(json.load(f))
