"""`.block` specs written from PyTorch modules, and modules compiled from their own weights.

    import blockc.torch
    text = blockc.torch.to_spec(timm.create_model("vit_small_patch16_224"))
    vit = blockc.torch.compile_module(model)        # to_spec + compile + bind its weights
    logits = vit(pixel_values)

Supported: timm's ``VisionTransformer`` and its ``Block``; Hugging Face's ``BertModel`` and
``BertLayer``, and sentence-transformers' ``SentenceTransformer`` over a BertModel (with its
mean pooling and normalization); PyTorch's ``nn.TransformerEncoderLayer`` and
``nn.TransformerEncoder`` (post-norm or ``norm_first``; the spec is batch-first, and
``compile_module`` of a sequence-first one takes and returns ``[N, B, C]`` as it does). Sizes, eps, activation, norms and their placement are read
from the module; the spec's layer names are the module's state-dict keys, so its
``state_dict()`` is the weight file. A module (or a part of one) the language cannot express
raises ``UnsupportedModuleError`` naming the submodule and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import Error, Module, compile as _compile, load as _load

__all__ = ["to_spec", "compile_module", "UnsupportedModuleError"]


class UnsupportedModuleError(Error, ValueError):
    """The module, or the submodule named in the message, has no `.block` equivalent."""


def _unsupported(path: str, why: str) -> UnsupportedModuleError:
    return UnsupportedModuleError(f"{path or 'the module'}: {why}")


def _num(value: float) -> str:
    return format(float(value), "g")


def _identity(module: Any) -> bool:
    return module is None or isinstance(module, (nn.Identity, nn.Dropout))


# ------------------------------------------------------------------------------ layers

def _norm(module: nn.Module, path: str) -> str:
    """A norm layer's declaration (`layernorm(eps = 1e-6)`)."""
    kind = type(module).__name__
    if isinstance(module, nn.LayerNorm):
        if not module.elementwise_affine or getattr(module, "bias", True) is None:
            raise _unsupported(path, "a LayerNorm without its weight and bias")
        if len(module.normalized_shape) != 1:
            raise _unsupported(path, "a LayerNorm over more than the features")
        return f"layernorm(eps = {_num(module.eps)})"
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        if not module.affine or not module.track_running_stats:
            raise _unsupported(path, "a BatchNorm without affine parameters or running statistics")
        return f"batchnorm(eps = {_num(module.eps)})"
    if kind in ("RmsNorm", "RMSNorm") and hasattr(module, "weight") and module.weight is not None:
        return f"rmsnorm(eps = {_num(module.eps)})"
    raise _unsupported(path, f"norm {kind} is not LayerNorm, BatchNorm or RMSNorm")


# Activations by class name: PyTorch's, timm's and Hugging Face's (nn.GELU: by `approximate`).
_ACTIVATIONS = {
    "GELUActivation": "gelu",
    "NewGELUActivation": "gelu_tanh",
    "GELUTanh": "gelu_tanh",
    "PytorchGELUTanh": "gelu_tanh",
    "ReLU": "relu",
    "SiLU": "silu",
    "SiLUActivation": "silu",
}


def _activation(module: Any, path: str) -> str:
    kind = type(module).__name__
    if kind == "GELU":
        return "gelu_tanh" if getattr(module, "approximate", "none") == "tanh" else "gelu"
    if kind in _ACTIVATIONS:
        return _ACTIVATIONS[kind]
    raise _unsupported(path, f"activation {kind} is not GELU (erf or tanh), ReLU or SiLU")


def _linear(module: nn.Module, path: str) -> str:
    if not isinstance(module, nn.Linear):
        raise _unsupported(path, f"{type(module).__name__} where a Linear is expected")
    bias = "" if module.bias is not None else ", bias = false"
    return f"linear({module.in_features} -> {module.out_features}{bias})"


@dataclass
class _Block:
    """A block's layer declarations (name, layer) and statements, written with a header by
    text(); equal blocks are one definition applied under several prefixes."""
    declarations: list
    statements: list

    def text(self, name: str, tokens: str, dim: int) -> str:
        width = max(len(n) for n, _ in self.declarations)
        lines = [f"block {name} ({tokens}, dim = {dim}) {{"]
        lines += [f"  {n.ljust(width)} = {d}" for n, d in self.declarations]
        lines.append("")
        lines += [f"  {s}" for s in self.statements]
        lines.append("}")
        return "\n".join(lines) + "\n"


def _one_block(layers: list, prefix: str, describe: Any) -> tuple[_Block, int]:
    """The block that every one of `layers` (state-dict names `prefix`.i) is, by
    describe(layer, path) -> (block, dim): a model applies one block to all its layers."""
    if not layers:
        raise _unsupported(prefix, "no layers")
    block, dim = describe(layers[0], f"{prefix}.0")
    for i, other in enumerate(layers[1:], 1):
        if describe(other, f"{prefix}.{i}")[0] != block:
            raise _unsupported(f"{prefix}.{i}", f"configured unlike {prefix}.0 (one block "
                               "definition serves every layer)")
    return block, dim


# ------------------------------------------------------------------------------ timm

def _timm_block(block: nn.Module, path: str) -> tuple[_Block, int]:
    """timm's vision_transformer.Block: pre-norm attention and MLP, optional LayerScale."""
    if type(block).__name__ != "Block" or not hasattr(block, "attn") or not hasattr(block, "mlp"):
        raise _unsupported(path, f"{type(block).__name__} is not timm's vision_transformer Block")
    attn, mlp = block.attn, block.mlp
    for name in ("q_norm", "k_norm", "norm"):
        if not _identity(getattr(attn, name, None)):
            raise _unsupported(f"{path}.attn.{name}", "attention with q/k or scale norms")
    if type(attn).__name__ != "Attention" or not isinstance(attn.qkv, nn.Linear):
        raise _unsupported(f"{path}.attn", f"{type(attn).__name__} is not timm's Attention")
    if type(mlp).__name__ != "Mlp" or not hasattr(mlp, "fc1"):
        raise _unsupported(f"{path}.mlp", f"{type(mlp).__name__} is not timm's Mlp (fc1, act, norm, fc2)")
    dim = attn.qkv.in_features
    heads = attn.num_heads
    decls = [("norm1", _norm(block.norm1, f"{path}.norm1"))]
    qkv_bias = "true" if attn.qkv.bias is not None else "false"
    proj_bias = "" if attn.proj.bias is not None else ", proj_bias = false"
    decls.append(("attn", f"attention(heads = {heads}, qkv_bias = {qkv_bias}{proj_bias})"))
    decls.append(("norm2", _norm(block.norm2, f"{path}.norm2")))
    decls.append(("mlp.fc1", _linear(mlp.fc1, f"{path}.mlp.fc1")))
    hidden = "mlp.fc1(norm2(x))"
    hidden = f"{_activation(mlp.act, f'{path}.mlp.act')}({hidden})"
    if not _identity(mlp.norm):
        decls.append(("mlp.norm", _norm(mlp.norm, f"{path}.mlp.norm")))
        hidden = f"mlp.norm({hidden})"
    decls.append(("mlp.fc2", _linear(mlp.fc2, f"{path}.mlp.fc2")))
    branches = ["attn(norm1(x))", f"mlp.fc2({hidden})"]
    for i in (1, 2):
        ls = getattr(block, f"ls{i}")
        if type(ls).__name__ == "LayerScale":
            decls.append((f"ls{i}", "layerscale()"))
            branches[i - 1] = f"ls{i}({branches[i - 1]})"
        elif not _identity(ls):
            raise _unsupported(f"{path}.ls{i}", f"{type(ls).__name__} is not timm's LayerScale")
    return _Block(decls, [f"x = x + {b}" for b in branches]), dim


def _timm_vit(vit: nn.Module) -> str:
    pe = vit.patch_embed
    proj = pe.proj
    if not isinstance(proj, nn.Conv2d) or proj.kernel_size != proj.stride \
            or proj.kernel_size[0] != proj.kernel_size[1] or proj.padding != (0, 0):
        raise _unsupported("patch_embed.proj", "a patch embedding other than a square Conv2d with "
              "kernel = stride and no padding")
    if not _identity(getattr(pe, "norm", None)):
        raise _unsupported("patch_embed.norm", "a norm after the patch embedding")
    if getattr(vit, "dynamic_img_size", False):
        raise _unsupported("", "dynamic_img_size (the image size is fixed at compile time)")
    if getattr(vit, "attn_pool", None) is not None:
        raise _unsupported("attn_pool", "attention pooling ('map')")
    h, w = pe.img_size
    k, dim = proj.kernel_size[0], proj.out_channels
    patches = (h // k) * (w // k)
    blocks = list(vit.blocks)
    block, block_dim = _one_block(blocks, "blocks", _timm_block)
    prefix = [n for n in ("cls_token", "reg_token") if getattr(vit, n, None) is not None]
    tokens = patches + sum(getattr(vit, n).shape[1] for n in prefix)

    decls = [("patch_embed.proj", f"conv2d({proj.in_channels} -> {dim}, kernel = {k}, "
                                  f"stride = {k}{'' if proj.bias is not None else ', bias = false'})")]
    for n in prefix:
        decls.append((n, f"parameter([1, {getattr(vit, n).shape[1]}, {dim}])"))
    x = "patch_embed.proj(pixel_values)"
    if vit.pos_embed is not None:
        decls.append(("pos_embed", f"parameter({list(vit.pos_embed.shape)})"))
    if vit.pos_embed is not None and vit.no_embed_class:
        x = f"{x} + pos_embed"
    if prefix:
        x = f"concat({', '.join(prefix)}, {x})"
    if vit.pos_embed is not None and not vit.no_embed_class:
        x = f"{x} + pos_embed"
    statements = [f"x = {x}"]
    if not _identity(vit.norm_pre):
        decls.append(("norm_pre", _norm(vit.norm_pre, "norm_pre")))
        statements.append("x = norm_pre(x)")
    decls.append((f"blocks.{{0..{len(blocks) - 1}}}", "vit_block"))
    statements.append("x = blocks(x)")
    if not _identity(vit.norm):
        decls.append(("norm", _norm(vit.norm, "norm")))
        statements.append("x = norm(x)")
    pool = vit.global_pool
    if pool == "token":
        pooled = "take(x, 0)"
    elif pool == "avg":
        pooled = f"mean(x, from = {vit.num_prefix_tokens})"
    elif pool == "":
        pooled = None
    else:
        raise _unsupported("", f"global_pool '{pool}' (only 'token', 'avg' or '')")
    if pooled and not _identity(vit.fc_norm):
        decls.append(("fc_norm", _norm(vit.fc_norm, "fc_norm")))
        pooled = f"fc_norm({pooled})"
    head = vit.head
    if isinstance(head, nn.Linear):
        if pooled is None:
            raise _unsupported("head", "a head without pooling (global_pool '')")
        decls.append(("head", _linear(head, "head")))
        statements += [f"features = {pooled}", "output logits = head(features)"]
    elif _identity(head):
        statements.append(f"output features = {pooled or 'x'}")
    else:
        raise _unsupported("head", f"{type(head).__name__} is not a Linear")
    in_ch = proj.in_channels
    width = max(len(n) for n, _ in decls)
    lines = [block.text("vit_block", f"tokens = {tokens}", block_dim),
             f"model {type(vit).__name__.lower()}_{h}x{w}_p{k} {{",
             f"  input pixel_values: [B, {in_ch}, {h}, {w}]", ""]
    lines += [f"  {n.ljust(width)} = {d}" for n, d in decls]
    lines.append("")
    lines += [f"  {s}" for s in statements]
    lines.append("}")
    return f"# written by blockc.torch.to_spec from timm's {type(vit).__name__}\n" + \
        "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ BERT

def _bert_layer(layer: nn.Module, path: str, mask: bool) -> tuple[_Block, int]:
    """Hugging Face's BertLayer: post-norm ("Add & Norm") attention and feed-forward."""
    if type(layer).__name__ != "BertLayer":
        raise _unsupported(path, f"{type(layer).__name__} is not Hugging Face's BertLayer")
    if getattr(layer, "is_decoder", False) or getattr(layer, "add_cross_attention", False):
        raise _unsupported(path, "a decoder layer (cross-attention)")
    self_attn = layer.attention.self
    if getattr(self_attn, "position_embedding_type", "absolute") != "absolute":
        raise _unsupported(f"{path}.attention.self", "relative position embeddings")
    dim = self_attn.query.in_features
    decls = []
    for name in ("query", "key", "value"):
        decls.append((f"attention.self.{name}",
                      _linear(getattr(self_attn, name), f"{path}.attention.self.{name}")))
    decls.append(("attention.output.dense",
                  _linear(layer.attention.output.dense, f"{path}.attention.output.dense")))
    decls.append(("attention.output.LayerNorm",
                  _norm(layer.attention.output.LayerNorm, f"{path}.attention.output.LayerNorm")))
    decls.append(("intermediate.dense",
                  _linear(layer.intermediate.dense, f"{path}.intermediate.dense")))
    decls.append(("output.dense", _linear(layer.output.dense, f"{path}.output.dense")))
    decls.append(("output.LayerNorm", _norm(layer.output.LayerNorm, f"{path}.output.LayerNorm")))
    act = _activation(layer.intermediate.intermediate_act_fn, f"{path}.intermediate")
    heads = self_attn.num_attention_heads
    masked = ", mask = mask" if mask else ""
    statements = [
        "ctx = mha(attention.self.query(x), attention.self.key(x), attention.self.value(x),",
        f"          heads = {heads}{masked})",
        "x = attention.output.LayerNorm(x + attention.output.dense(ctx))",
        f"x = output.LayerNorm(x + output.dense({act}(intermediate.dense(x))))",
    ]
    return _Block(decls, statements), dim


def _bert_model(bert: nn.Module, max_tokens: int | None, pooling: str | None) -> str:
    """BertModel (and the mean pooling and normalization of a SentenceTransformer)."""
    config = bert.config
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        raise _unsupported("embeddings", "relative position embeddings")
    if getattr(config, "is_decoder", False):
        raise _unsupported("", "a decoder")
    layers = list(bert.encoder.layer)
    block, dim = _one_block(layers, "encoder.layer",
                            lambda layer, path: _bert_layer(layer, path, mask=True))
    emb = bert.embeddings
    positions = emb.position_embeddings.num_embeddings
    s_max = min(max_tokens or positions, positions)
    decls = [
        ("embeddings.word_embeddings", f"embedding({emb.word_embeddings.num_embeddings} -> {dim})"),
        ("embeddings.position_embeddings", f"embedding({positions} -> {dim})"),
        ("embeddings.token_type_embeddings",
         f"embedding({emb.token_type_embeddings.num_embeddings} -> {dim})"),
        ("embeddings.LayerNorm", _norm(emb.LayerNorm, "embeddings.LayerNorm")),
        (f"encoder.layer.{{0..{len(layers) - 1}}}", "bert_layer"),
    ]
    width = max(len(n) for n, _ in decls)
    name = type(bert).__name__.lower()
    lines = [block.text("bert_layer", f"tokens <= {positions}", dim),
             f"model {name} {{",
             f"  input input_ids: int64[B, S <= {s_max}]",
             "  input attention_mask: int64[B, S]",
             "  input token_type_ids: int64[B, S] = 0   # optional: zeros when omitted",
             "  ignore embeddings.position_ids, embeddings.token_type_ids, pooler",
             ""]
    lines += [f"  {n.ljust(width)} = {d}" for n, d in decls]
    lines += ["",
              "  x = embeddings.LayerNorm(embeddings.word_embeddings(input_ids)",
              "                           + embeddings.position_embeddings(positions(input_ids))",
              "                           + embeddings.token_type_embeddings(token_type_ids))",
              "  output last_hidden_state = encoder.layer(x, mask = attention_mask)"]
    if pooling:
        lines.append(f"  output sentence_embedding = {pooling}")
    lines.append("}")
    return "# written by blockc.torch.to_spec from Hugging Face's BertModel\n" + \
        "\n".join(lines) + "\n"


def _sentence_transformer(st: nn.Module) -> tuple[str, nn.Module]:
    modules = list(st)
    transformer = modules[0] if modules else None
    bert = getattr(transformer, "auto_model", None)
    if bert is None or type(bert).__name__ != "BertModel":
        raise _unsupported("0", "the first module is not a Transformer over a BertModel")
    pooling = "mean(last_hidden_state, mask = attention_mask)"
    if len(modules) < 2 or type(modules[1]).__name__ != "Pooling":
        raise _unsupported("1", "no Pooling module after the Transformer")
    mode = modules[1].get_pooling_mode_str()
    if mode != "mean":
        raise _unsupported("1", f"pooling mode '{mode}' (only 'mean')")
    for i, m in enumerate(modules[2:], 2):
        if type(m).__name__ != "Normalize":
            raise _unsupported(str(i), f"{type(m).__name__} after the pooling (only Normalize)")
        pooling = f"l2normalize({pooling})"
    return _bert_model(bert, getattr(st, "max_seq_length", None), pooling), bert


# ------------------------------------------------------------------------------ PyTorch

def _torch_activation(activation: Any, path: str) -> str:
    """nn.TransformerEncoderLayer's activation: F.relu / F.gelu, or a module."""
    functions = {torch.nn.functional.relu: "relu", torch.nn.functional.gelu: "gelu"}
    if activation in functions:
        return functions[activation]
    if isinstance(activation, nn.Module):
        return _activation(activation, path)
    raise _unsupported(path, f"activation {activation!r} is not relu, gelu or an activation module")


def _encoder_layer(layer: nn.Module, path: str) -> tuple[_Block, int]:
    """nn.TransformerEncoderLayer: self-attention and feed-forward, post-norm or norm_first."""
    if not isinstance(layer, nn.TransformerEncoderLayer):
        raise _unsupported(path, f"{type(layer).__name__} is not nn.TransformerEncoderLayer")
    attn = layer.self_attn
    if not attn._qkv_same_embed_dim or attn.bias_k is not None or attn.add_zero_attn:
        raise _unsupported(f"{path}.self_attn", "attention with separate q/k/v sizes, bias_k/v "
                           "or add_zero_attn")
    if (attn.in_proj_bias is None) != (attn.out_proj.bias is None):
        raise _unsupported(f"{path}.self_attn", "a bias on only one of in_proj and out_proj")
    dim = attn.embed_dim
    bias = "" if attn.in_proj_bias is not None else ", bias = false"
    decls = [("self_attn", f"multihead_attention(heads = {attn.num_heads}{bias})"),
             ("linear1", _linear(layer.linear1, f"{path}.linear1")),
             ("linear2", _linear(layer.linear2, f"{path}.linear2")),
             ("norm1", _norm(layer.norm1, f"{path}.norm1")),
             ("norm2", _norm(layer.norm2, f"{path}.norm2"))]
    act = _torch_activation(layer.activation, f"{path}.activation")
    if layer.norm_first:
        statements = ["x = x + self_attn(norm1(x))",
                      f"x = x + linear2({act}(linear1(norm2(x))))"]
    else:
        statements = ["x = norm1(x + self_attn(x))",
                      f"x = norm2(x + linear2({act}(linear1(x))))"]
    return _Block(decls, statements), dim


def _sequence_first(module: nn.Module) -> bool:
    layer = module.layers[0] if isinstance(module, nn.TransformerEncoder) else module
    return not layer.self_attn.batch_first


def _transformer_encoder(encoder: nn.Module, max_tokens: int) -> str:
    layers = list(encoder.layers)
    block, dim = _one_block(layers, "layers", _encoder_layer)
    lines = [block.text("encoder_layer", f"tokens <= {max_tokens}", dim),
             "model transformer_encoder {",
             f"  input src: [B, S <= {max_tokens}, {dim}]",
             "",
             f"  layers.{{0..{len(layers) - 1}}} = encoder_layer"]
    out = "layers(src)"
    if encoder.norm is not None:
        lines.append(f"  norm = {_norm(encoder.norm, 'norm')}")
        out = f"norm({out})"
    lines += ["", f"  output y = {out}", "}"]
    return "# written by blockc.torch.to_spec from nn.TransformerEncoder (batch-first)\n" + \
        "\n".join(lines) + "\n"


class _SequenceFirst:
    """A batch-first compiled module called as a sequence-first PyTorch one: [N, B, C] in and
    out (the input is transposed into a copy, the output returned as a transposed view)."""

    def __init__(self, module: Module):
        self.module = module
        self.info = module.info
        self.spec = module.spec

    def __call__(self, src: Any) -> Any:
        y = self.module(src.swapaxes(0, 1) if hasattr(src, "swapaxes") else src.transpose(0, 1))
        return y.swapaxes(0, 1) if hasattr(y, "swapaxes") else y.transpose(0, 1)


# ------------------------------------------------------------------------------ API

def _example_tokens(module: nn.Module, example_input: Any, default: int | None = None,
                    token_dim: int = 1) -> int:
    """The tokens of `example_input` [B, N, C] (its dimension `token_dim`; 0 for a
    sequence-first one), or `default` where none is given."""
    if example_input is None and default is not None:
        return default
    shape = list(getattr(example_input, "shape", ()))
    if len(shape) != 3:
        raise _unsupported("", f"a {type(module).__name__} alone needs example_input "
                               f"[B, tokens, dim], got {shape if example_input is not None else None}")
    return int(shape[token_dim])


def _spec_and_weights(module: nn.Module, example_input: Any) -> tuple[str, nn.Module]:
    """The spec and the module whose state_dict() is its weight file."""
    kind = type(module).__name__
    origin = type(module).__module__
    if kind == "VisionTransformer" and origin.startswith("timm"):
        return _timm_vit(module), module
    if kind == "Block" and origin.startswith("timm"):
        block, dim = _timm_block(module, "")
        return block.text("vit_block", f"tokens = {_example_tokens(module, example_input)}",
                          dim), module
    if kind == "BertModel":
        return _bert_model(module, None, None), module
    if kind == "BertLayer":
        block, dim = _bert_layer(module, "", mask=False)
        # Run-time tokens up to the example's, or BERT's position table (512).
        tokens = _example_tokens(module, example_input, default=512)
        return block.text("bert_layer", f"tokens <= {tokens}", dim), module
    if kind == "SentenceTransformer":
        return _sentence_transformer(module)
    if isinstance(module, (nn.TransformerEncoderLayer, nn.TransformerEncoder)):
        # Run-time tokens up to the example's (dimension 0 sequence-first), or 512.
        tokens = _example_tokens(module, example_input, 512, 0 if _sequence_first(module) else 1)
        if isinstance(module, nn.TransformerEncoder):
            return _transformer_encoder(module, tokens), module
        block, dim = _encoder_layer(module, "")
        return block.text("encoder_layer", f"tokens <= {tokens}", dim), module
    raise _unsupported("", f"{origin}.{kind} is not a module blockc can express (timm VisionTransformer or "
              "Block, Hugging Face BertModel or BertLayer, SentenceTransformer over a BertModel, "
              "nn.TransformerEncoderLayer or nn.TransformerEncoder)")


def to_spec(module: nn.Module, example_input: Any = None) -> str:
    """The `.block` text of `module`, whose layer names are its state-dict keys.

    ``example_input`` gives the tokens of a block alone (timm ``Block``: ``[B, tokens, dim]``;
    a ``BertLayer`` or a PyTorch encoder takes up to that many tokens per run, by default
    512).
    """
    return _spec_and_weights(module, example_input)[0]


def compile_module(module: nn.Module, example_input: Any = None, target: str = "host",
                   out: Any = None, precision: str | None = None) -> Any:
    """to_spec, compile and bind the module's own parameters (held by reference where they
    are float32 and contiguous): a blockc.Module whose call matches the module's forward
    (logits or features for a timm ViT, last_hidden_state for a BertModel, the block's
    output for a block; last_hidden_state and sentence_embedding for a SentenceTransformer;
    a sequence-first PyTorch encoder's [N, B, C] through a transposing wrapper).
    Its ``spec`` attribute is the text it was compiled from. ``precision``: as
    blockc.compile's (``bf16``: the weights rounded when they are bound)."""
    spec, weights = _spec_and_weights(module, example_input)
    compiled = _load(_compile(spec, target=target, out=out, precision=precision))
    compiled.bind(weights.state_dict())
    compiled.spec = spec
    if isinstance(module, (nn.TransformerEncoderLayer, nn.TransformerEncoder)) \
            and _sequence_first(module):
        return _SequenceFirst(compiled)
    return compiled
