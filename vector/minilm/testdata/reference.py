"""Reference for vector/minilm's tests, independent of its Go code.

Token ids come from Hugging Face `tokenizers` on the model's own
tokenizer.json (its padding to 128 turned off, truncation at max_tokens);
vectors from ONNX Runtime on the ONNX export of all-MiniLM-L6-v2 that
langchain4j ships, as a padded batch with an attention mask, mean-pooled over
the mask and L2-normalised with numpy. Each command prints JSON.

  reference.py vectors TOKENIZER_JSON MODEL_ONNX SENTENCES_JSON MAX_TOKENS
      {"ids": [[...], ...], "vectors": [[...], ...]}, one per sentence
  reference.py chars TOKENIZER_JSON
      {"norm": {"<code point>": "<normalised>", ...}, "punct": [<code point>, ...]}:
      what the normalizer makes of each code point alone (only those it
      changes) and which code points the pre-tokenizer splits off
  reference.py random TOKENIZER_JSON SEED COUNT MAX_TOKENS
      {"texts": [...], "ids": [[...], ...]}: random strings mixing words,
      special tokens, spaces, controls and characters from many blocks
"""

import json
import random
import sys

from tokenizers import Tokenizer


def tokenizer(path, max_tokens):
    tok = Tokenizer.from_file(path)
    tok.no_padding()
    tok.enable_truncation(max_length=int(max_tokens))
    return tok


def pooled(session, ids, dtype):
    """Runs the ONNX model on token ids (one list per text, no padding) and
    returns the mean of its outputs over each text's own tokens, L2-normalised,
    computed in dtype."""
    import numpy as np

    width = max(len(x) for x in ids)
    input_ids = np.zeros((len(ids), width), dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for i, x in enumerate(ids):
        input_ids[i, :len(x)] = x
        mask[i, :len(x)] = 1
    (hidden,) = session.run(["last_hidden_state"], {
        "input_ids": input_ids,
        "attention_mask": mask,
        "token_type_ids": np.zeros_like(input_ids),
    })
    m = mask[:, :, None].astype(dtype)
    mean = (hidden.astype(dtype, copy=False) * m).sum(axis=1) / m.sum(axis=1)
    mean /= np.linalg.norm(mean, axis=1, keepdims=True)
    return mean


def vectors(tokenizer_json, model_onnx, sentences_json, max_tokens):
    import numpy as np
    import onnxruntime

    with open(sentences_json, encoding="utf-8") as f:
        sentences = json.load(f)
    ids = [e.ids for e in tokenizer(tokenizer_json, max_tokens).encode_batch(sentences)]

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(model_onnx, opts, providers=["CPUExecutionProvider"])
    out = []
    batch = 8
    for lo in range(0, len(ids), batch):
        mean = pooled(session, ids[lo:lo + batch], np.float64)
        out.extend(mean.tolist())
    return {"ids": ids, "vectors": out}


def chars(tokenizer_json):
    tok = Tokenizer.from_file(tokenizer_json)
    norm, punct = {}, []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        n = tok.normalizer.normalize_str(c)
        if n != c:
            norm[str(cp)] = n
        if len(tok.pre_tokenizer.pre_tokenize_str("a" + c + "a")) == 3:
            punct.append(cp)
    return {"norm": norm, "punct": punct}


BLOCKS = [
    (0x00, 0x7F), (0x80, 0x24F), (0x300, 0x36F), (0x370, 0x52F), (0x590, 0x6FF),
    (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF), (0x1C80, 0x1C8F), (0x2000, 0x206F),
    (0x2070, 0x21FF), (0x2E00, 0x2E7F), (0x3000, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
    (0xA7C0, 0xA7FF), (0xAC00, 0xD7A3), (0xE000, 0xE0FF), (0xF900, 0xFAFF), (0xFE00, 0xFE6F),
    (0xFF00, 0xFFEF), (0xFFF0, 0xFFFF), (0x10000, 0x1034F), (0x10D40, 0x10D8F),
    (0x11100, 0x111FF), (0x16EA0, 0x16EDF), (0x1D400, 0x1D7FF), (0x1F000, 0x1FAFF),
    (0x20000, 0x2A6DF), (0x2B820, 0x2B92F), (0x2CEB0, 0x2CFFF), (0x30000, 0x3134F),
    (0xE0000, 0xE01EF),
]
WORDS = ["the", "[MASK]", "[SEP]", "[CLS", "UNK]", "[PAD][UNK]", "café", "naïve", "İ", "ß",
         "unbelievable", "##ing", "Ǆ", "ﬃ", "Ω", "K", "e\u0301", "x" * 101]
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u200b", "\x00", "\x85", "\u2028", "\ufffd"]


def rand(tokenizer_json, seed, count, max_tokens):
    rng = random.Random(int(seed))
    texts = []
    for _ in range(int(count)):
        parts = []
        for _ in range(rng.randint(0, 40)):
            r = rng.random()
            if r < 0.3:
                parts.append(rng.choice(WORDS))
            elif r < 0.5:
                parts.append(rng.choice(SPACES))
            else:
                lo, hi = rng.choice(BLOCKS)
                cp = rng.randint(lo, hi)
                if not 0xD800 <= cp <= 0xDFFF:
                    parts.append(chr(cp) * rng.randint(1, 3))
        texts.append("".join(parts))
    ids = [e.ids for e in tokenizer(tokenizer_json, max_tokens).encode_batch(texts)]
    return {"texts": texts, "ids": ids}


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    run = {"vectors": vectors, "chars": chars, "random": rand}[cmd]
    json.dump(run(*args), sys.stdout)


if __name__ == "__main__":
    main()
