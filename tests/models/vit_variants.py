"""The ViT variants built from timm's VisionTransformer for the tests (reference.py) and the
bench (bench/models.py): ViTBN and ViTBNFFN, the norms replaced by BatchNorm over the token
features, and their random non-trivial weights. Imports torch and NumPy only (no
environment set, no threads started)."""
import numpy as np
import torch
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


@torch.no_grad()
def randomize(model, seed):
    """Makes every parameter and buffer non-trivial, in place: Linear and Conv2d weights of
    std 1/sqrt(fan_in), random biases and norm parameters, cls_token and pos_embed O(1), and
    BatchNorm running statistics of a seeded calibration batch (train mode), then shifted
    and scaled per feature; timm's initial values (norms 1/0, biases 0, tiny tokens) would
    hide mistakes. Leaves the model in eval mode."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            m.weight.normal_(0.0, m.weight[0].numel() ** -0.5)
            if m.bias is not None:
                m.bias.normal_(0.0, 0.2)
        elif isinstance(m, (nn.LayerNorm, nn.BatchNorm1d)):
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0.0, 0.2)
    if model.cls_token is not None:
        model.cls_token.normal_(0.0, 0.5)
    model.pos_embed.normal_(0.0, 0.5)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    if bns:
        # Running statistics of a calibration batch, as training would leave them, then
        # shifted and scaled per feature so neither is ever the identity.
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        model.train()
        H, W = model.patch_embed.img_size
        x = np.random.default_rng((seed, 99)).standard_normal(
            (4, 3, H, W), dtype=np.float32)
        model(torch.from_numpy(x))
        for m in bns:
            std = m.running_var.sqrt()
            m.running_mean.add_(torch.randn_like(std) * 0.3 * std)
            m.running_var.mul_(torch.empty_like(std).uniform_(-0.7, 0.7).exp())
            m.momentum = 0.1
    model.eval()
