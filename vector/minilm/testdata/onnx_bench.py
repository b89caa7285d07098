"""ONNX Runtime's side of vector/minilm's BenchmarkEmbedVsONNX.

  onnx_bench.py TOKENIZER_JSON MODEL_ONNX TEXTS_JSON MAX_TOKENS SECONDS

Embeds the texts of TEXTS_JSON as one padded batch, over and over for at
least SECONDS (after one warm-up batch), on one thread (intra- and inter-op),
each time from the strings: Hugging Face `tokenizers` for the ids (truncation
at MAX_TOKENS), ONNX Runtime on langchain4j's ONNX export of all-MiniLM-L6-v2,
mean pooling over the attention mask and L2 normalisation with numpy, as
reference.py does. Prints JSON:
  {"sentences_per_s": ..., "batches": ..., "seconds": ..., "tokens": ...}
"""

import json
import sys
import time

import numpy as np
import onnxruntime
from reference import pooled, tokenizer  # beside this script


def main():
    tokenizer_json, model_onnx, texts_json, max_tokens, seconds = sys.argv[1:]
    with open(texts_json, encoding="utf-8") as f:
        texts = json.load(f)
    tok = tokenizer(tokenizer_json, max_tokens)

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    session = onnxruntime.InferenceSession(model_onnx, opts, providers=["CPUExecutionProvider"])

    def embed():
        ids = [e.ids for e in tok.encode_batch(texts)]
        pooled(session, ids, np.float32)
        return sum(len(x) for x in ids)

    tokens = embed()
    batches, start = 0, time.perf_counter()
    while True:
        embed()
        batches += 1
        elapsed = time.perf_counter() - start
        if elapsed >= float(seconds):
            break
    json.dump({
        "sentences_per_s": batches * len(texts) / elapsed,
        "batches": batches,
        "seconds": elapsed,
        "tokens": tokens,
    }, sys.stdout)


if __name__ == "__main__":
    main()
