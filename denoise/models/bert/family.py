"""The BERT family's record (RoBERTa and ALBERT-style recipes train the same model)."""

from __future__ import annotations

from denoise.models.bert import hf
from denoise.models.bert.electra import Electra
from denoise.models.bert.model import (
    Bert,
    BertConfig,
    encoder_states,
    pooler_state,
    with_pair_head,
    with_span_head,
    with_token_head,
)
from denoise.models.bert.sizes import SIZES, bert_config
from denoise.models.family import Family, Transformers
from denoise.models.flops import encoder_flops
from denoise.models.framing import frame_encoder
from denoise.models.layers import with_changes
from denoise.models.settings import Ids, ModelSettings, stack_changes


def from_settings(settings: ModelSettings, ids: Ids) -> BertConfig:
    encoder = with_changes(bert_config(settings.size).encoder, stack_changes(settings, ids))
    return BertConfig(encoder=encoder, pair_head=bool(settings.pair_head), span_head=bool(settings.span_head))


FAMILY = Family(
    name="bert",
    kind="encoder",
    model=Bert,
    config=BertConfig,
    sizes=SIZES,
    from_settings=from_settings,
    frame=frame_encoder,
    # [CLS] A [SEP] (B [SEP])
    longest_input=lambda block_size, ops: block_size + 2 + any(op.pairs for op in ops),
    states={"encoder": encoder_states},
    pooling={"encoder": "first"},
    starts_with_cls=True,
    stacks=("encoder",),
    flops=encoder_flops,
    transformers=Transformers(("bert", "roberta", "electra"), hf.from_hf, hf.to_hf, hf.task_to_hf),
    pair_head=with_pair_head,
    span_head=with_span_head,
    pooler_state=pooler_state,
    electra=Electra.with_generator,
    for_denoising=lambda model: with_token_head(model, "mlm"),
)
