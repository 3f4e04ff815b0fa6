import numpy as np
import pytest
import torch

from denoise import DenoiseError
from denoise.corruption.base import Vocab
from denoise.corruption.corpus import BlockCorpus
from denoise.corruption.loader import Collator, EpochSampler, IndexedBlocks
from denoise.corruption.preview import default_kind
from denoise.corruption.recipe import Recipe, available_recipes
from denoise.data.prepare import load_blocks, prepare_corpus
from denoise.models.families import first_of_kind

ENCODER, ENCODER_DECODER = "encoder", "encoder_decoder"

KIND = {
    "bert": ENCODER,
    "roberta": ENCODER,
    "modernbert": ENCODER,
    "mlm40": ENCODER,
    "albert": ENCODER,
    "spanbert": ENCODER,
    "electra": ENCODER,
    "deshuffle": ENCODER_DECODER,
    "bart": ENCODER_DECODER,
    "t5": ENCODER_DECODER,
    "mass": ENCODER_DECODER,
    "ul2": ENCODER_DECODER,
    "prefix_lm": ENCODER_DECODER,
    "clm": ENCODER_DECODER,  # the first kind that takes it; a decoder-only model is what it is for
}
SHIPPED = sorted(KIND)


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return Vocab.from_tokenizer(tokenizer)


@pytest.fixture(scope="module")
def blocks(tmp_path_factory, tokenizer, corpus_documents):
    folder = tmp_path_factory.mktemp("blocks")
    (folder / "docs.txt").write_text("\n\n".join(corpus_documents[400:430] + corpus_documents[-30:]) + "\n")
    prepare_corpus([folder / "docs.txt"], tokenizer, folder / "out", block_size=128)
    return load_blocks(folder / "out")


def test_every_recipe_is_shipped_and_picks_its_kind_of_model(vocab):
    assert available_recipes() == SHIPPED
    for name in SHIPPED:
        assert default_kind(Recipe.load(name), vocab) == KIND[name]


@pytest.mark.parametrize("name", SHIPPED)
def test_recipe_output_does_not_depend_on_batch_size_or_workers(name, vocab, blocks):
    corrupter = Recipe.load(name).build(vocab, KIND[name], 128, corpus=BlockCorpus(blocks))
    collator = Collator(corrupter, vocab, first_of_kind(KIND[name]).frame, seed=3)

    def per_example(batch_size, workers, order=None, epoch=1):
        sampler = EpochSampler(order if order is not None else range(len(blocks)), epoch)
        loader = torch.utils.data.DataLoader(
            IndexedBlocks(blocks),
            batch_size=batch_size,
            sampler=sampler,
            num_workers=workers,
            collate_fn=collator,
        )
        out = {}
        for batch, indices in zip(loader, _chunks(list(sampler), batch_size)):
            for i, (_, index) in enumerate(indices):
                keep = batch.attention_mask[i].bool()
                out[index] = (
                    batch.input_ids[i][keep].tolist(),
                    batch.labels[i][batch.labels[i] != -100].tolist(),
                )
        return out

    reference = per_example(8, 0)
    assert per_example(5, 0) == reference
    assert per_example(3, 2) == reference
    assert per_example(7, 0, order=np.random.default_rng(0).permutation(len(blocks)).tolist()) == reference
    draws = any(op.draws for op in corrupter.ops)  # clm draws nothing: every epoch reads the same
    assert (per_example(8, 0, epoch=2) != reference) == draws
    assert any(reference[i][0] != list(block) for i, block in enumerate(blocks["input_ids"]))


def _chunks(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


def test_persistent_workers_see_each_new_epoch(vocab, blocks):
    collator = Collator(
        Recipe.load("roberta").build(vocab, ENCODER, 128), vocab, first_of_kind(ENCODER).frame
    )
    sampler = EpochSampler(range(16))
    loader = torch.utils.data.DataLoader(
        IndexedBlocks(blocks),
        batch_size=8,
        sampler=sampler,
        num_workers=2,
        persistent_workers=True,
        collate_fn=collator,
    )
    epochs = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        epochs.append(torch.cat([b.input_ids for b in loader]))
    assert not torch.equal(epochs[0], epochs[1]) and not torch.equal(epochs[1], epochs[2])
    sampler.set_epoch(1)
    assert torch.equal(torch.cat([b.input_ids for b in loader]), epochs[1])


def test_encoder_only_model_refuses_a_length_changing_recipe_naming_the_op(vocab):
    with pytest.raises(DenoiseError, match="op 'infill' changes the sequence length"):
        Recipe.load("bart").build(vocab, ENCODER)
    with pytest.raises(DenoiseError, match="'span'"):
        Recipe.load("t5").build(vocab, ENCODER)
    with pytest.raises(DenoiseError, match="nothing to predict"):
        Recipe.from_mapping({"steps": [{"op": "permute"}]}).build(vocab, ENCODER)


def test_shuffled_tokens_feed_an_encoder_only_model_only_with_something_to_predict(vocab):
    with pytest.raises(DenoiseError, match="'deshuffle' gives an encoder-only model nothing to predict"):
        Recipe.load("deshuffle").build(vocab, ENCODER)
    for predict in ("mask", "span_mask"):
        Recipe.from_mapping({"steps": [{"op": "shuffle"}, {"op": predict}]}).build(vocab, ENCODER)
    Recipe.from_mapping({"steps": [{"op": "shuffle"}, {"op": "span"}]}).build(vocab, ENCODER_DECODER)
    after_pairs = Recipe.from_mapping({"steps": [{"op": "nsp"}, {"op": "shuffle"}, {"op": "mask"}]})
    with pytest.raises(DenoiseError, match="op 'shuffle' would move tokens across the segments 'nsp' made"):
        after_pairs.build(vocab, ENCODER)


def test_encoder_decoder_refuses_sentence_pairs(vocab):
    with pytest.raises(DenoiseError, match="op 'nsp' builds sentence pairs"):
        Recipe.load("bert").build(vocab, ENCODER_DECODER)


def test_order_errors_name_both_ops(vocab):
    recipe = Recipe.from_mapping({"name": "x", "steps": [{"op": "infill"}, {"op": "permute"}]})
    with pytest.raises(DenoiseError, match="'permute' needs sentence boundaries, which 'infill' removes"):
        recipe.build(vocab, ENCODER_DECODER)
    recipe = Recipe.from_mapping({"name": "y", "steps": [{"op": "span"}, {"op": "delete"}]})
    with pytest.raises(DenoiseError, match="'span' defines the decoder target.*'delete'"):
        recipe.build(vocab, ENCODER_DECODER)


def test_unknown_names_and_keys_suggest_the_nearest(vocab, tmp_path):
    with pytest.raises(DenoiseError, match="'robreta' \\(did you mean 'roberta'\\?\\)"):
        Recipe.load("robreta")
    with pytest.raises(DenoiseError, match="unknown corruption op 'mak' \\(did you mean 'mask'\\?\\)"):
        Recipe.from_mapping({"steps": [{"op": "mak"}]}).build(vocab, ENCODER)
    with pytest.raises(DenoiseError, match="unknown key 'rte' in op 'mask' \\(did you mean 'rate'\\?\\)"):
        Recipe.from_mapping({"steps": [{"op": "mask", "rte": 0.2}]}).build(vocab, ENCODER)
    with pytest.raises(
        DenoiseError, match="unknown kind of model .decoder_only. \\(did you mean .decoder.\\?\\)"
    ):
        Recipe.load("roberta").build(vocab, "decoder_only")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps: [{op: mask}]\nsteeps: 1\n")
    with pytest.raises(DenoiseError, match="'steeps'"):
        Recipe.load(bad)


def test_recipe_from_a_yaml_file_composes_any_ops(vocab, tmp_path, blocks):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\nsteps:\n  - op: rotate\n  - op: mask\n    rate: 0.3\n  - op: delete\n    rate: 0.1\n"
    )
    corrupter = Recipe.load(path).build(vocab, ENCODER_DECODER, 128)
    collator = Collator(corrupter, vocab, first_of_kind(ENCODER_DECODER).frame)
    batch = collator([dict(blocks[i], index=i) for i in range(4)])
    assert batch.decoder_input_ids is not None and len(batch) == 4
    assert (batch.attention_mask.sum(1) < 128).all()


def test_nothing_may_move_tokens_after_sentence_pairs(vocab):
    for after in ("permute", "rotate", "sop"):
        recipe = Recipe.from_mapping({"name": "p", "steps": [{"op": "sop"}, {"op": after}, {"op": "mask"}]})
        with pytest.raises(
            DenoiseError, match=f"op '{after}' would move tokens across the segments 'sop' made"
        ):
            recipe.build(vocab, ENCODER)
    Recipe.from_mapping({"steps": [{"op": "permute"}, {"op": "sop"}, {"op": "mask"}]}).build(vocab, ENCODER)


def test_target_ops_refuse_tokens_corrupted_before_them(vocab):
    for target_op in ("span", "mass", "prefix_lm"):
        recipe = Recipe.from_mapping({"name": "m", "steps": [{"op": "mask"}, {"op": target_op}]})
        with pytest.raises(
            DenoiseError, match=f"'{target_op}' builds its target .* which 'mask' has corrupted"
        ):
            recipe.build(vocab, ENCODER_DECODER)
    Recipe.from_mapping({"steps": [{"op": "permute"}, {"op": "rotate"}, {"op": "span"}]}).build(
        vocab, ENCODER_DECODER
    )
