"""The demo video_coop model: fast path vs explicit attention, exact embedding of factorised attention, Grad-CAM."""

from __future__ import annotations

import pytest
import torch

from videoxai.demo.dataset import DEMO_CLASSES
from videoxai.models.families.demo.models import VideoCoOp
from videoxai.models.families.demo.prompt_text import PromptTextConfig
from videoxai.models.families.demo.tokenizer import WordTokenizer, split_words
from videoxai.models.families.demo.tower import SpaceTimeConfig, embed_frames, embed_temporal

CLASSES = ["MoveRight", "MoveLeft", "Grow", "Blink"]


def tiny(classes=CLASSES, seed: int = 0) -> VideoCoOp:
    torch.manual_seed(seed)
    tower = SpaceTimeConfig(
        num_frames=4,
        image_size=32,
        patch_size=8,
        width=32,
        layers=2,
        heads=2,
        stem_channels=8,
    )
    return VideoCoOp(classes, tower=tower, text=PromptTextConfig(width=32, embed_dim=32, heads=2)).eval()


@pytest.fixture(scope="module")
def model() -> VideoCoOp:
    return tiny()


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    return torch.randn(3, 4, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_forward_shape_and_spec(model, clip):
    assert model(clip).shape == (3, len(CLASSES))
    assert model.input_spec.num_frames == 4 and model.input_spec.size == 32
    layout = model.token_layout
    assert (layout.num_prefix, layout.frames, layout.height, layout.width) == (
        1,
        4,
        4,
        4,
    )


def test_attention_logits_equal_fast_path(model, clip):
    with torch.no_grad():
        fast = model(clip)
        slow, attn = model.forward_with_attention(clip)
    torch.testing.assert_close(slow, fast, atol=1e-5, rtol=1e-5)
    n = model.token_layout.num_tokens
    assert len(attn) == 2 * 2  # temporal + spatial per block
    for a in attn:
        assert a.shape == (3, 2, n, n)
        assert a.min() >= 0
        torch.testing.assert_close(a.sum(-1), torch.ones(3, 2, n))


def test_temporal_cls_row_is_identity(model, clip):
    with torch.no_grad():
        _, attn = model.forward_with_attention(clip)
    temporal = attn[0]
    assert torch.equal(temporal[:, :, 0, 0], torch.ones(3, 2))
    assert temporal[:, :, 0, 1:].abs().max() == 0
    # a patch attends only to itself at other frames: 4 non-zeros per row at most, in one spatial column
    hw = 16
    row = temporal[0, 0, 1 + 5]  # frame 0, position 5
    nz = row.nonzero().flatten().tolist()
    assert set(nz) <= {1 + t * hw + 5 for t in range(4)}


def _capture(module, store, name):
    return module.register_forward_hook(lambda m, i, o: store.__setitem__(name, (i[0], o)))


def _merge(module, probs_times_v: torch.Tensor) -> torch.Tensor:
    b, h, n, d = probs_times_v.shape
    return module.proj(probs_times_v.transpose(1, 2).reshape(b, n, h * d))


@pytest.mark.parametrize("block_index", [0, 1])
def test_embedded_attention_reproduces_the_block(model, clip, block_index):
    """Embedded matrix @ joint values == what each factor actually adds to the residual stream."""
    block = model.tower.blocks[block_index]
    seen: dict = {}
    hooks = [_capture(block.attn_t, seen, "t"), _capture(block.attn_s, seen, "s")]
    try:
        with torch.no_grad():
            _, attn = model.forward_with_attention(clip)
    finally:
        for h in hooks:
            h.remove()
    b, t, hw = 3, 4, 16
    a_t, a_s = attn[2 * block_index], attn[2 * block_index + 1]
    with torch.no_grad():
        # spatial: per-frame inputs (B*T, 1+hw, D); CLS is the same token in every frame
        x_s, (out_s, _) = seen["s"]
        _, _, v = block.attn_s.heads_qkv(x_s)  # (B*T, H, 1+hw, d)
        v = v.reshape(b, t, 2, hw + 1, -1)
        torch.testing.assert_close(v[:, 1:, :, 0], v[:, :1, :, 0].expand_as(v[:, 1:, :, 0]))
        v_joint = torch.cat(
            [
                v[:, 0, :, :1],
                v[:, :, :, 1:].permute(0, 2, 1, 3, 4).reshape(b, 2, t * hw, -1),
            ],
            2,
        )
        joint = _merge(block.attn_s, a_s @ v_joint)  # (B, N, D)
        out_s = out_s.reshape(b, t, hw + 1, -1)
        torch.testing.assert_close(joint[:, 0], out_s[:, :, 0].mean(1), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(joint[:, 1:], out_s[:, :, 1:].reshape(b, t * hw, -1), atol=1e-5, rtol=1e-5)
        # temporal: per-position inputs (B*hw, T, D); CLS takes no part
        x_t, (out_t, _) = seen["t"]
        _, _, v = block.attn_t.heads_qkv(x_t)  # (B*hw, H, T, d)
        v = v.reshape(b, hw, 2, t, -1).permute(0, 2, 3, 1, 4).reshape(b, 2, t * hw, -1)
        v_joint = torch.cat([torch.zeros_like(v[:, :, :1]), v], 2)
        joint = _merge(block.attn_t, a_t @ v_joint)[:, 1:]
        expected = out_t.reshape(b, hw, t, -1).transpose(1, 2).reshape(b, t * hw, -1)
        torch.testing.assert_close(joint, expected, atol=1e-5, rtol=1e-5)


def test_embedding_keeps_per_frame_probabilities():
    g = torch.Generator().manual_seed(0)
    b, t, hw, h = 2, 3, 4, 2
    p_s = torch.softmax(torch.randn(b * t, h, hw + 1, hw + 1, generator=g), -1)
    index = 1 + torch.arange(t)[:, None] * hw + torch.arange(hw)
    e = embed_frames(p_s, b, index, 1 + t * hw, with_global=True)
    p = p_s.reshape(b, t, h, hw + 1, hw + 1)
    for f in range(t):
        sl = slice(1 + f * hw, 1 + (f + 1) * hw)
        torch.testing.assert_close(e[:, :, sl, sl], p[:, f, :, 1:, 1:])
        torch.testing.assert_close(e[:, :, sl, 0], p[:, f, :, 1:, 0])
        torch.testing.assert_close(e[:, :, 0, sl], p[:, f, :, 0, 1:] / t)
    torch.testing.assert_close(e[:, :, 0, 0], p[:, :, :, 0, 0].mean(1))
    p_t = torch.softmax(torch.randn(b * hw, h, t, t, generator=g), -1)
    e = embed_temporal(p_t, b, t, hw)
    q = p_t.reshape(b, hw, h, t, t)
    for pos in range(hw):
        idx = [1 + f * hw + pos for f in range(t)]
        torch.testing.assert_close(e[:, :, idx][:, :, :, idx], q[:, pos])


def test_gradcam_target_has_gradients_and_block_output_has_none(model, clip):
    target = model.gradcam_target()
    grads: dict = {}

    def keep(name):
        def hook(module, inputs, output):
            output.register_hook(lambda g: grads.__setitem__(name, g))
            grads[name + "_out"] = output

        return hook

    def keep_block(module, inputs, output):
        output[0].register_hook(lambda g: grads.__setitem__("block", g))  # output = (tokens, attentions)

    hooks = [
        target.module.register_forward_hook(keep("target")),
        model.tower.blocks[-1].register_forward_hook(keep_block),
    ]
    try:
        logits = model(clip)
        logits[:, 0].sum().backward()
    finally:
        for h in hooks:
            h.remove()
        model.zero_grad()
    grid = target.to_grid(grads["target"])
    assert grid.shape == (3, 32, 4, 4, 4)  # (B, D, T, h, w)
    assert grid.abs().amax(dim=(1, 3, 4)).min() > 0  # every frame of every clip gets gradient
    assert target.to_grid(grads["target_out"]).shape == grid.shape
    # prompt-tuning's bug: at the block output only CLS leaves the encoder, image tokens get exactly zero
    assert grads["block"][:, 0].abs().max() > 0
    assert torch.count_nonzero(grads["block"][:, 1:]) == 0


def test_multi_view_input_averages_views(model, clip):
    views = torch.stack([clip, clip.flip(-1)], dim=1)
    with torch.no_grad():
        expected = (model(clip) + model(clip.flip(-1))) / 2
        torch.testing.assert_close(model(views), expected)


def test_wrong_input_size_says_what_is_expected(model):
    with pytest.raises(ValueError, match="4 frames of 32x32"):
        model(torch.zeros(1, 8, 3, 32, 32))
    with pytest.raises(ValueError, match=r"\(B, T, 3, H, W\)"):
        model(torch.zeros(1, 4, 32, 32))


def test_class_prompts_start_apart():
    """Class-word embeddings dominate the prompt at init, so class embeddings are not all alike."""
    model = tiny(DEMO_CLASSES)
    with torch.no_grad():
        t = torch.nn.functional.normalize(model.text(), dim=-1)
    off = (t @ t.T)[~torch.eye(8, dtype=torch.bool)]
    assert off.max() < 0.9


def test_class_list_change_permutes_logits(clip):
    model = tiny()
    with torch.no_grad():
        before = model(clip)
        model.set_class_names(list(reversed(CLASSES)))
        after = model(clip)
    torch.testing.assert_close(after, before.flip(-1))
    with pytest.raises(ValueError, match="never seen"):
        model.set_class_names(["JumpingJack"])


def test_tokenizer_words_and_roundtrip():
    assert split_words("ApplyEyeMakeup") == ["apply", "eye", "makeup"]
    assert split_words("brush_hair") == ["brush", "hair"]
    tok = WordTokenizer.from_texts(CLASSES)
    assert WordTokenizer.from_dict(tok.to_dict()).encode("MoveLeft") == tok.encode("MoveLeft")
    assert tok.encode("MoveLeft")[0] == tok.encode("MoveRight")[0]
    assert tok.unknown_words(["Jump"]) == ["jump"]


def test_handcrafted_prompts_replace_the_learned_context(clip):
    model = tiny()
    with torch.no_grad():
        learned = model(clip)
    model.set_handcrafted_prompts(True)
    tok = model.text.tokenizer
    first = model.text.token_ids[0].tolist()
    # the template, where the context was (its words are outside the class-name vocabulary)
    assert first[1 : 1 + 5] == tok.encode_open("a video of a person", {})
    logits = model(clip)
    assert not torch.allclose(logits, learned)
    logits.sum().backward()
    assert model.text.context.grad is None  # the learned context takes no part
    with pytest.raises(ValueError, match="where the class name goes"):
        model.set_handcrafted_prompts(True, "a clip showing it")
    assert model.text.handcrafted and model.text.template == "a video of a person {}."  # unchanged
    model.set_handcrafted_prompts(False)
    with torch.no_grad():
        assert torch.equal(model(clip), learned)


def test_template_words_outside_the_vocabulary_get_fixed_vectors(clip):
    """Any template runs on a demo model; its unseen words are embedded the same way on every run."""
    model, other = tiny(), tiny()
    tok = model.text.tokenizer
    assert tok.unknown_words(["clip showing {}"]) == ["clip", "showing"]
    state = torch.get_rng_state()
    model.set_handcrafted_prompts(True, "clip showing {}")
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is not consumed
    ids = model.text.token_ids[0].tolist()
    # <sos> clip showing move right <eos>: 'clip' and 'showing' get ids past the vocabulary
    assert ids[1:3] == [tok.vocab_size, tok.vocab_size + 1]
    assert model.text.oov_embedding.shape == (2, model.text.cfg.width)
    other.set_handcrafted_prompts(True, "showing clip {}")  # same words, other order
    row = {w: model.text.oov_embedding[i] for i, w in enumerate(["clip", "showing"])}
    assert torch.equal(other.text.oov_embedding[0], row["showing"])
    assert torch.equal(other.text.oov_embedding[1], row["clip"])
    logits = model(clip)
    assert logits.isfinite().all()
    with pytest.raises(ValueError, match="class names contain words"):
        model.set_class_names(["JumpingJack"])  # class words are never guessed
