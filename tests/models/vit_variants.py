"""The ViT variants built from timm's VisionTransformer for the tests (reference.py) and the
bench (bench/models.py): ViTBN and ViTBNFFN, the norms replaced by BatchNorm over the token
features. Imports torch only (no environment set, no threads started)."""
import torch.nn as nn


class TokenBatchNorm(nn.BatchNorm1d):
    """BatchNorm1d(C) over the features of [B, N, C] tokens (or [B, C]): the same state
    dict as BatchNorm1d (weight, bias, running_mean, running_var, num_batches_tracked), so
    the keys stay timm's (blocks.0.norm1.weight ...)."""

    def forward(self, x):
        if x.dim() == 3:
            return super().forward(x.transpose(1, 2)).transpose(1, 2)
        return super().forward(x)


def replace_norms(m, where):
    """ViTBN (where="all": every LayerNorm of the model, blocks' norm1 and norm2 and the
    final norm, becomes a BatchNorm over the token features) or ViTBNFFN (where="ffn": only
    each block's norm2, the norm before the MLP), in place. eps is BatchNorm's default, 1e-5."""
    assert where in ("all", "ffn")
    for blk in m.blocks:
        if where == "all":
            assert isinstance(blk.norm1, nn.LayerNorm)
            blk.norm1 = TokenBatchNorm(m.embed_dim)
        assert isinstance(blk.norm2, nn.LayerNorm)
        blk.norm2 = TokenBatchNorm(m.embed_dim)
    if where == "all":
        assert isinstance(m.norm, nn.LayerNorm) and isinstance(m.fc_norm, nn.Identity)
        m.norm = TokenBatchNorm(m.embed_dim)
    return m
