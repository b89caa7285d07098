"""Reference for vector/minilm's tests, independent of its Go code.

Token ids come from Hugging Face `tokenizers` on the model's own
tokenizer.json (its padding to 128 turned off, truncation at max_tokens);
vectors from ONNX Runtime on the ONNX export of all-MiniLM-L6-v2 that
langchain4j ships, as a padded batch with an attention mask, mean-pooled over
the mask and L2-normalised with numpy.

Usage: python reference.py TOKENIZER_JSON MODEL_ONNX SENTENCES_JSON MAX_TOKENS
Prints {"ids": [[...], ...], "vectors": [[...], ...]} as JSON.
"""

import json
import sys

import numpy as np
import onnxruntime
from tokenizers import Tokenizer


def main():
    tokenizer_json, model_onnx, sentences_json, max_tokens = sys.argv[1:5]
    with open(sentences_json, encoding="utf-8") as f:
        sentences = json.load(f)

    tok = Tokenizer.from_file(tokenizer_json)
    tok.no_padding()
    tok.enable_truncation(max_length=int(max_tokens))
    ids = [e.ids for e in tok.encode_batch(sentences)]

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(model_onnx, opts, providers=["CPUExecutionProvider"])
    vectors = []
    batch = 8
    for lo in range(0, len(ids), batch):
        chunk = ids[lo:lo + batch]
        width = max(len(x) for x in chunk)
        input_ids = np.zeros((len(chunk), width), dtype=np.int64)
        mask = np.zeros((len(chunk), width), dtype=np.int64)
        for i, x in enumerate(chunk):
            input_ids[i, :len(x)] = x
            mask[i, :len(x)] = 1
        (hidden,) = session.run(["last_hidden_state"], {
            "input_ids": input_ids,
            "attention_mask": mask,
            "token_type_ids": np.zeros_like(input_ids),
        })
        m = mask[:, :, None].astype(np.float64)
        mean = (hidden.astype(np.float64) * m).sum(axis=1) / m.sum(axis=1)
        mean /= np.linalg.norm(mean, axis=1, keepdims=True)
        vectors.extend(mean.tolist())

    json.dump({"ids": ids, "vectors": vectors}, sys.stdout)


if __name__ == "__main__":
    main()
