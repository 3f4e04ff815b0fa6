import pytest
import torch

from denoise import DenoiseError
from denoise.corruption.base import Vocab
from denoise.corruption.batch import Collator, IndexedBlocks
from denoise.corruption.corpus import BlockCorpus
from denoise.corruption.preview import default_family
from denoise.corruption.recipe import ENCODER, ENCODER_DECODER, Recipe, available_recipes
from denoise.data.prepare import load_blocks, prepare_corpus

SHIPPED = ["albert", "bart", "bert", "mass", "roberta", "t5", "ul2"]
FAMILY = {
    "bert": ENCODER,
    "roberta": ENCODER,
    "albert": ENCODER,
    "bart": ENCODER_DECODER,
    "t5": ENCODER_DECODER,
    "mass": ENCODER_DECODER,
    "ul2": ENCODER_DECODER,
}


@pytest.fixture(scope="module")
def vocab(tokenizer):
    return Vocab.from_tokenizer(tokenizer)


@pytest.fixture(scope="module")
def blocks(tmp_path_factory, tokenizer, corpus_documents):
    folder = tmp_path_factory.mktemp("blocks")
    (folder / "docs.txt").write_text("\n\n".join(corpus_documents[400:430] + corpus_documents[-30:]) + "\n")
    prepare_corpus([folder / "docs.txt"], tokenizer, folder / "out", block_size=128)
    return load_blocks(folder / "out")


def test_every_recipe_is_shipped_and_picks_its_family(vocab):
    assert available_recipes() == SHIPPED
    for name in SHIPPED:
        assert default_family(Recipe.load(name), vocab) == FAMILY[name]


@pytest.mark.parametrize("name", SHIPPED)
def test_recipe_output_does_not_depend_on_batch_size_or_workers(name, vocab, blocks):
    corrupter = Recipe.load(name).build(vocab, FAMILY[name], 128, corpus=BlockCorpus(blocks))
    collator = Collator(corrupter, vocab, seed=3)
    collator.set_epoch(1)

    def per_example(batch_size, workers):
        loader = torch.utils.data.DataLoader(
            IndexedBlocks(blocks),
            batch_size=batch_size,
            num_workers=workers,
            collate_fn=collator,
            shuffle=False,
        )
        out = []
        for batch in loader:
            for i in range(len(batch)):
                keep = batch.attention_mask[i].bool()
                out.append(
                    (batch.input_ids[i][keep].tolist(), batch.labels[i][batch.labels[i] != -100].tolist())
                )
        return out

    reference = per_example(8, 0)
    assert per_example(5, 0) == reference
    assert per_example(3, 2) == reference
    assert any(source != list(block) for (source, _), block in zip(reference, blocks["input_ids"]))


def test_encoder_only_model_refuses_a_length_changing_recipe_naming_the_op(vocab):
    with pytest.raises(DenoiseError, match="op 'infill' changes the sequence length"):
        Recipe.load("bart").build(vocab, ENCODER)
    with pytest.raises(DenoiseError, match="'span'"):
        Recipe.load("t5").build(vocab, ENCODER)
    with pytest.raises(DenoiseError, match="nothing to predict"):
        Recipe.from_mapping({"steps": [{"op": "permute"}]}).build(vocab, ENCODER)


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
    with pytest.raises(DenoiseError, match="unknown model family"):
        Recipe.load("roberta").build(vocab, "decoder")
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
    collator = Collator(corrupter, vocab)
    batch = collator([dict(blocks[i], index=i) for i in range(4)])
    assert batch.decoder_input_ids is not None and len(batch) == 4
    assert (batch.attention_mask.sum(1) < 128).all()
