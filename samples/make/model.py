"""A tiny Llama (RMSNorm, RoPE in the Hugging Face rotate_half layout, SwiGLU, grouped-query attention) in PyTorch,
with a trainer and a batched greedy decoder with a KV cache. CPU only, single thread, deterministic."""
from __future__ import annotations

import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab: int
    d: int = 64
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    ffn: int = 128
    ctx: int = 256
    eps: float = 1e-5
    theta: float = 10000.0
    tied: bool = True

    @property
    def head_dim(self):
        return self.d // self.heads

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope(positions, head_dim, theta):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = positions.to(torch.float32)[..., None] * inv  # (B, T, hd/2)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos()[:, None], emb.sin()[:, None]  # (B, 1, T, hd)


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        hd = c.head_dim
        self.input_layernorm = RMSNorm(c.d, c.eps)
        self.q_proj = nn.Linear(c.d, c.heads * hd, bias=False)
        self.k_proj = nn.Linear(c.d, c.kv_heads * hd, bias=False)
        self.v_proj = nn.Linear(c.d, c.kv_heads * hd, bias=False)
        self.o_proj = nn.Linear(c.heads * hd, c.d, bias=False)
        self.post_attention_layernorm = RMSNorm(c.d, c.eps)
        self.gate_proj = nn.Linear(c.d, c.ffn, bias=False)
        self.up_proj = nn.Linear(c.d, c.ffn, bias=False)
        self.down_proj = nn.Linear(c.ffn, c.d, bias=False)

    def forward(self, x, cos, sin, mask, cache=None):
        c = self.c
        B, T, _ = x.shape
        hd = c.head_dim
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, T, c.heads, hd).transpose(1, 2)
        k = self.k_proj(h).view(B, T, c.kv_heads, hd).transpose(1, 2)
        v = self.v_proj(h).view(B, T, c.kv_heads, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if "k" in cache:
                k = torch.cat((cache["k"], k), dim=2)
                v = torch.cat((cache["v"], v), dim=2)
            cache["k"], cache["v"] = k, v
        rep = c.heads // c.kv_heads
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, c.heads * hd)
        x = x + self.o_proj(y)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class TinyLlama(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab, c.d)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.norm = RMSNorm(c.d, c.eps)
        self.lm_head = None if c.tied else nn.Linear(c.d, c.vocab, bias=False)
        self.apply(self._init)
        for b in self.blocks:  # scaled residual init
            nn.init.normal_(b.o_proj.weight, std=0.02 / math.sqrt(2 * c.layers))
            nn.init.normal_(b.down_proj.weight, std=0.02 / math.sqrt(2 * c.layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def resize_vocab(self, n, seed):
        """Add rows for new tokens (initialised as the mean embedding plus small noise)."""
        old = self.embed_tokens.weight.data
        g = torch.Generator().manual_seed(seed)
        extra = old.mean(0, keepdim=True) + 0.02 * torch.randn(n - old.shape[0], old.shape[1], generator=g)
        self.embed_tokens = nn.Embedding(n, self.c.d)
        self.embed_tokens.weight.data = torch.cat((old, extra), 0)
        if self.lm_head is not None:
            oldh = self.lm_head.weight.data
            extrah = 0.02 * torch.randn(n - oldh.shape[0], oldh.shape[1], generator=g)
            self.lm_head = nn.Linear(self.c.d, n, bias=False)
            self.lm_head.weight.data = torch.cat((oldh, extrah), 0)
        self.c.vocab = n

    def forward(self, ids, pos, mask, caches=None):
        x = self.embed_tokens(ids)
        cos, sin = rope(pos, self.c.head_dim, self.c.theta)
        for i, b in enumerate(self.blocks):
            x = b(x, cos, sin, mask, None if caches is None else caches[i])
        x = self.norm(x)
        w = self.embed_tokens.weight if self.lm_head is None else self.lm_head.weight
        return x @ w.t()

    # Hugging Face LlamaForCausalLM tensor names.
    def hf_state_dict(self):
        sd = {"model.embed_tokens.weight": self.embed_tokens.weight}
        for i, b in enumerate(self.blocks):
            p = f"model.layers.{i}."
            sd[p + "input_layernorm.weight"] = b.input_layernorm.weight
            sd[p + "self_attn.q_proj.weight"] = b.q_proj.weight
            sd[p + "self_attn.k_proj.weight"] = b.k_proj.weight
            sd[p + "self_attn.v_proj.weight"] = b.v_proj.weight
            sd[p + "self_attn.o_proj.weight"] = b.o_proj.weight
            sd[p + "post_attention_layernorm.weight"] = b.post_attention_layernorm.weight
            sd[p + "mlp.gate_proj.weight"] = b.gate_proj.weight
            sd[p + "mlp.up_proj.weight"] = b.up_proj.weight
            sd[p + "mlp.down_proj.weight"] = b.down_proj.weight
        sd["model.norm.weight"] = self.norm.weight
        if self.lm_head is not None:
            sd["lm_head.weight"] = self.lm_head.weight
        return {k: v.detach().clone().contiguous() for k, v in sd.items()}


def causal_pad_mask(valid):
    """valid: (B, T) bool of real tokens -> (B, 1, T, T) allowed-attention mask."""
    B, T = valid.shape
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    m = causal[None, None] & valid[:, None, None, :]
    return m | torch.eye(T, dtype=torch.bool)[None, None]  # a pad row attends to itself (no NaN)


def train(model, batches, steps, lr, warmup=50, wd=0.01, log=None):
    """batches(step) -> (ids LongTensor (B,T), weights FloatTensor (B,T)): weights[t] is the loss weight of
    predicting ids[t] from ids[:t]."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.98), weight_decay=wd)
    model.train()
    for step in range(steps):
        cur = lr * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for g in opt.param_groups:
            g["lr"] = cur
        ids, w = batches(step)
        B, T = ids.shape
        valid = torch.ones(B, T, dtype=torch.bool)
        pos = torch.arange(T)[None].expand(B, T)
        logits = model(ids[:, :-1], pos[:, :-1], causal_pad_mask(valid[:, :-1]))
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none")
        wt = w[:, 1:].reshape(-1)
        loss = (ce * wt).sum() / wt.sum().clamp(min=1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if log and (step % 200 == 0 or step == steps - 1):
            log(f"    step {step:5d}  loss {loss.item():.4f}  lr {cur:.2e}")
    model.eval()


@torch.no_grad()
def greedy(model, prompts, max_new, stop_ids, pad_id=0):
    """Batched greedy decoding with left padding. prompts: list of token-id lists. Returns new-token lists."""
    B = len(prompts)
    L = max(len(p) for p in prompts)
    ids = torch.full((B, L), pad_id, dtype=torch.long)
    valid = torch.zeros(B, L, dtype=torch.bool)
    for i, p in enumerate(prompts):
        ids[i, L - len(p):] = torch.tensor(p)
        valid[i, L - len(p):] = True
    pos = (valid.long().cumsum(1) - 1).clamp(min=0)
    caches = [dict() for _ in model.blocks]
    logits = model(ids, pos, causal_pad_mask(valid), caches)
    out = [[] for _ in range(B)]
    done = torch.zeros(B, dtype=torch.bool)
    nextpos = pos[:, -1] + 1
    for _ in range(max_new):
        nxt = logits[:, -1].argmax(-1)
        for i in range(B):
            if not done[i]:
                t = int(nxt[i])
                if t in stop_ids:
                    done[i] = True
                else:
                    out[i].append(t)
        if bool(done.all()):
            break
        valid = torch.cat((valid, torch.ones(B, 1, dtype=torch.bool)), 1)
        mask = valid[:, None, None, :]
        logits = model(nxt[:, None], nextpos[:, None], mask, caches)
        nextpos = nextpos + 1
    return out
