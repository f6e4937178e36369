"""BERT without transformers' import: the builtin reader and the sentence encoder, loaded in a blink.

``import transformers`` and its model classes cost about 3.5 s of a cold ``qabot ask`` on a 2-core
machine (torch._dynamo, torch.distributed and scipy come with them), twice what ``import torch``
costs. The builtin reader and the all-MiniLM-L6-v2 encoder are both plain BERT, so this module
runs them with ``torch.nn`` and the ``tokenizers`` library directly: the same weights, the same
token ids and offsets, the same logits and embeddings (``tests/models/test_bert.py`` checks
them against transformers). Any other architecture is loaded by transformers as before
(``supported()`` says which folders qualify).

``FastTokenizer`` answers the calls that ``retrieval.span_decoding`` and the readers make of a
Hugging Face fast tokenizer; ``load_question_answering`` and ``load_encoder`` build the models.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace

import torch
from tokenizers import Tokenizer

#: What a folder's config.json must say for this module to run it.
_BERT = {"model_type": "bert", "hidden_act": "gelu"}


def supported(folder: str | Path) -> bool:
    """Whether the folder holds a plain BERT this module runs: its config, tokenizer.json, safetensors."""
    folder = Path(folder)
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        all(config.get(key) == value for key, value in _BERT.items())
        and config.get("position_embedding_type", "absolute") == "absolute"
        and (folder / "tokenizer.json").is_file()
        and (folder / "model.safetensors").is_file()
    )


class _Encoded(dict):
    """What a tokenizer call returns: the ``tokenizers`` encodings and their offsets."""

    def __init__(self, encodings):
        super().__init__(offset_mapping=encodings[0].offsets if len(encodings) == 1 else
                         [e.offsets for e in encodings])
        self.encodings = encodings


class FastTokenizer:
    """A ``tokenizers.Tokenizer`` with the attributes and call of a Hugging Face fast tokenizer.

    Only what qabot uses: a question alone, or a (question, context) pair truncated ``only_second``
    into windows overlapping by ``stride`` tokens, with offsets, unpadded (the readers pad); and
    ``batch()`` for the encoder. Safe from several threads (the settings of a call are its own).
    """

    is_fast = True
    padding_side = "right"
    model_input_names = ("input_ids", "token_type_ids", "attention_mask")

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        settings_file = folder / "tokenizer_config.json"
        settings = json.loads(settings_file.read_text()) if settings_file.is_file() else {}
        self.model_max_length = int(settings.get("model_max_length", 512))
        self.pad_token_id = self._tokenizer.token_to_id(settings.get("pad_token", "[PAD]"))
        self.cls_token_id = self._tokenizer.token_to_id(settings.get("cls_token", "[CLS]"))
        self._lock = threading.Lock()

    def __call__(
        self,
        text: str,
        text_pair: str | None = None,
        *,
        truncation: bool | str = False,
        max_length: int | None = None,
        stride: int = 0,
        add_special_tokens: bool = True,
        return_overflowing_tokens: bool = False,
        **_returned,  # offsets, token types and masks are always there
    ) -> _Encoded:
        with self._lock:
            if truncation:
                strategy = "only_second" if truncation == "only_second" else "longest_first"
                self._tokenizer.enable_truncation(max_length or self.model_max_length, stride=stride,
                                                  strategy=strategy)
            else:
                self._tokenizer.no_truncation()
            self._tokenizer.no_padding()
            encoding = self._tokenizer.encode(text, text_pair, add_special_tokens=add_special_tokens)
        windows = [encoding, *encoding.overflowing] if return_overflowing_tokens else [encoding]
        return _Encoded(windows)

    def batch(self, texts: list[str], *, max_length: int) -> dict[str, torch.Tensor]:
        """Texts cut to ``max_length`` tokens and padded to the longest: the model's input tensors."""
        with self._lock:
            self._tokenizer.enable_truncation(max_length)
            self._tokenizer.enable_padding(pad_id=self.pad_token_id or 0)
            encodings = self._tokenizer.encode_batch(texts)
        return {
            "input_ids": torch.tensor([e.ids for e in encodings]),
            "token_type_ids": torch.tensor([e.type_ids for e in encodings]),
            "attention_mask": torch.tensor([e.attention_mask for e in encodings]),
        }


class _SelfAttention(torch.nn.Module):
    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.heads = heads
        self.query = torch.nn.Linear(hidden, hidden)
        self.key = torch.nn.Linear(hidden, hidden)
        self.value = torch.nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape

        def heads(t):
            return t.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)

        out = torch.nn.functional.scaled_dot_product_attention(
            heads(self.query(x)), heads(self.key(x)), heads(self.value(x)), attn_mask=mask
        )
        return out.transpose(1, 2).reshape(batch, length, hidden)


class _Output(torch.nn.Module):
    """dense → dropout-free residual → LayerNorm, as BERT's ``...Output`` blocks."""

    def __init__(self, inner: int, hidden: int, eps: float):
        super().__init__()
        self.dense = torch.nn.Linear(inner, hidden)
        self.LayerNorm = torch.nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class _Layer(torch.nn.Module):
    def __init__(self, c: SimpleNamespace):
        super().__init__()
        self.attention = torch.nn.Module()
        self.attention.self = _SelfAttention(c.hidden_size, c.num_attention_heads)
        self.attention.output = _Output(c.hidden_size, c.hidden_size, c.layer_norm_eps)
        self.intermediate = torch.nn.Module()
        self.intermediate.dense = torch.nn.Linear(c.hidden_size, c.intermediate_size)
        self.output = _Output(c.intermediate_size, c.hidden_size, c.layer_norm_eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.attention.output(self.attention.self(x, mask), x)
        return self.output(torch.nn.functional.gelu(self.intermediate.dense(x)), x)


class _Bert(torch.nn.Module):
    """BERT's embeddings and encoder layers (``BertModel`` without its pooler), in eval mode."""

    def __init__(self, c: SimpleNamespace):
        super().__init__()
        self.embeddings = torch.nn.Module()
        self.embeddings.word_embeddings = torch.nn.Embedding(c.vocab_size, c.hidden_size)
        self.embeddings.position_embeddings = torch.nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.embeddings.token_type_embeddings = torch.nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.embeddings.LayerNorm = torch.nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.encoder = torch.nn.Module()
        self.encoder.layer = torch.nn.ModuleList(_Layer(c) for _ in range(c.num_hidden_layers))

    def forward(self, input_ids, attention_mask=None, token_type_ids=None) -> torch.Tensor:
        batch, length = input_ids.shape
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        e = self.embeddings
        positions = torch.arange(length, device=input_ids.device)
        x = e.word_embeddings(input_ids) + e.token_type_embeddings(token_type_ids) + e.position_embeddings(positions)
        x = e.LayerNorm(x)
        # additive mask over keys: 0 where attended, the dtype's minimum where padded
        mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.encoder.layer:
            x = layer(x, mask)
        return x


class BertForQuestionAnswering(torch.nn.Module):
    """Start and end logits of every token, as transformers' model of the same name returns them."""

    def __init__(self, c: SimpleNamespace):
        super().__init__()
        self.bert = _Bert(c)
        self.qa_outputs = torch.nn.Linear(c.hidden_size, 2)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None) -> SimpleNamespace:
        logits = self.qa_outputs(self.bert(input_ids, attention_mask, token_type_ids))
        start, end = logits.unbind(-1)
        return SimpleNamespace(start_logits=start, end_logits=end)

    @property
    def device(self) -> torch.device:
        return self.qa_outputs.weight.device


class BertEncoder(torch.nn.Module):
    """The last hidden state of every token, as transformers' ``BertModel`` returns it."""

    def __init__(self, c: SimpleNamespace):
        super().__init__()
        self.model = _Bert(c)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None) -> SimpleNamespace:
        return SimpleNamespace(last_hidden_state=self.model(input_ids, attention_mask, token_type_ids))


def _config(folder: Path) -> SimpleNamespace:
    return SimpleNamespace(**json.loads((folder / "config.json").read_text()))


def _weights(folder: Path, prefix: str) -> dict[str, torch.Tensor]:
    """The folder's safetensors weights as float32, under this module's names."""
    from safetensors.torch import load_file

    found = load_file(str(folder / "model.safetensors"))
    return {prefix + key: tensor.float() for key, tensor in found.items()
            if not key.startswith("pooler.") and not key.endswith("position_ids")}


def load_question_answering(folder: str | Path) -> tuple[BertForQuestionAnswering, FastTokenizer]:
    """The QA model (float32, eval mode) and tokenizer of a ``supported()`` folder.

    :raises KeyError: the weights lack a trained span head (``qa_outputs``) or any other tensor.
    """
    folder = Path(folder)
    model = BertForQuestionAnswering(_config(folder))
    weights = _weights(folder, "")
    missing = sorted(set(model.state_dict()) - set(weights))
    if missing:
        raise KeyError(", ".join(missing))
    model.load_state_dict(weights, strict=False)
    return model.eval(), FastTokenizer(folder)


def load_encoder(folder: str | Path) -> tuple[BertEncoder, FastTokenizer]:
    """The sentence encoder (float32, eval mode) and tokenizer of a ``supported()`` folder."""
    folder = Path(folder)
    model = BertEncoder(_config(folder))
    weights = _weights(folder, "model.")
    model.load_state_dict({k.replace("model.bert.", "model."): v for k, v in weights.items()})
    return model.eval(), FastTokenizer(folder)

