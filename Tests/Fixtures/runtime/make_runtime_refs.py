#!/usr/bin/env python3
"""Reference logits and greedy continuations from llama.cpp (llama-cpp-python) for the runtime tests.

Usage: python3 Tests/Fixtures/runtime/make_runtime_refs.py [--backend llama_cpp|transformers] [MODEL.gguf] [OUT.json]
Backends: llama_cpp (llama-cpp-python, the intended reference) or transformers (loads the same GGUF,
dequantized to float32 by transformers' GGUF loader; used while llama-cpp-python was not installable).
Defaults: samples/.cache/real/SmolLM2-135M-Instruct.Q4_1.gguf -> Tests/Fixtures/runtime/smollm2-q4_1-refs.json
Gemma:    ... samples/.cache/real/gemma-3-270m-q4_k_m.gguf Tests/Fixtures/runtime/gemma3-270m-q4_k_m-refs.json

Everything is stored as token ids (tokenized here by llama.cpp), so the Swift test does not depend on
our tokenizer. Stored per position: the 10 largest logits as [id, logit] (small file, enough to test
top-1 agreement and the logit difference on the reference's top tokens).
"""
import hashlib, json, os, sys

import numpy as np

BACKEND = "llama_cpp"
if len(sys.argv) > 2 and sys.argv[1] == "--backend":
    BACKEND = sys.argv[2]
    del sys.argv[1:3]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
model_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "samples/.cache/real/SmolLM2-135M-Instruct.Q4_1.gguf")
out_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "Tests/Fixtures/runtime/smollm2-q4_1-refs.json")
TOP_K = 10
PASSAGE_TOKENS = 1000
CONTINUATION = 32

PASSAGE = """The lighthouse keeper had kept a log for thirty-one years, and in all that time he had never missed
an entry. Each evening he wrote the direction of the wind, the height of the swell, the ships that passed
and the colour of the sky at sunset. Most entries were short: "NW 3, slight sea, two trawlers, grey." Some
were longer, written on nights when the fog came in so thick that the beam seemed to stop a few yards from
the glass, and he sat awake listening for engines that might be too close to the rocks.

When the automatic lamp was installed, the company sent a young engineer named Priya to supervise the work.
She expected the old man to resent her. Instead he showed her the log books, all forty-two of them, stacked
in a cupboard that smelled of salt and paraffin. "Nobody will read these," he said, "but the sea does not
care whether anybody reads them. It only matters that somebody was watching."

Priya spent three weeks on the island. She replaced the rotating optic's motor, wired the new controller,
and tested the backup batteries by cutting the mains power at two in the morning. The light kept turning.
The keeper stood beside her in the lamp room and nodded once, which she later understood was the highest
praise he gave to anything.

In the evenings they cooked together. He taught her to fillet mackerel with a knife so thin it bent like a
leaf, and she taught him how to read the controller's status page on a tablet. He was slow with the screen
at first, poking at it as if it might bite, but by the second week he could check the battery voltage and
the lamp hours without asking for help.

Technical note from the engineer's report: the controller polls the light sensor every 250 milliseconds and
switches the lamp on when ambient light falls below 1,000 lux for more than 90 consecutive seconds. The
rotation period is 10 seconds (one flash every 10 s, character Fl W 10s), and the backup bank of 24 cells
provides at least 72 hours of operation. Faults are reported over a satellite link; a missed heartbeat for
15 minutes raises an alarm at the coastguard station on the mainland.

def lamp_should_be_on(lux_samples, threshold=1000, window=360):
    # 360 samples at 250 ms = 90 seconds
    recent = lux_samples[-window:]
    return len(recent) == window and all(x < threshold for x in recent)

On her last night the weather turned. A southwesterly gale pushed waves over the lower landing, and spray
hit the lamp room windows eighty feet above the sea. The keeper put on his oilskins out of habit, although
there was nothing left for him to do; the machine would do it all. He sat at the table with his pen and
wrote the entry anyway: "SW 9, very rough, no ships, new light working." Then, after a pause, he added a
second line, which Priya read over his shoulder: "Handed over to the engineer. She knows what she is doing."

The next morning the boat came to take them both back to the mainland. The keeper carried only a small bag
and the last of the log books, wrapped in a plastic sheet against the spray. As the island shrank behind
them, the light turned once, twice, three times in the grey daylight, testing itself as it had been told
to do, and then went dark until evening.

Years later, Priya became the chief engineer for the whole northern coast. She kept a photograph of the
lighthouse above her desk, and beside it, in a frame, a single page torn from a log book. Visitors who
asked about it were told that it was the most accurate technical document she had ever received: a record
of wind, sea, ships and light, written every day for thirty-one years by someone who understood that the
job was not to be seen doing it, but to do it.

Questions for discussion: Why does the keeper continue writing the log after the automatic light is
installed? What does the engineer learn from him, and what does he learn from her? How would the story
change if it were told from the keeper's point of view? Write a short paragraph (about 100 words) that
continues the story from the moment the boat reaches the harbour. Consider the weather, the people waiting
on the quay, and what the keeper might do with the log books now that nobody needs them any more.
"""

PROMPTS = [
    "The capital of France is",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n",
    "Once upon a time, in a small village by the sea,",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nList three colours of the rainbow.<|im_end|>\n<|im_start|>assistant\n",
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def top(row, k):
    idx = np.argsort(-row, kind="stable")[:k]
    return [[int(i), round(float(row[i]), 5)] for i in idx]


def main_transformers():
    import torch, transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer
    d, f = os.path.dirname(model_path), os.path.basename(model_path)
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
    model.eval()
    torch.set_num_threads(2)
    add_bos = "gemma" in f.lower()
    bos = [tok.bos_token_id] if add_bos else []
    passage = (bos + tok(PASSAGE, add_special_tokens=False)["input_ids"])[:PASSAGE_TOKENS]
    assert len(passage) >= 900, len(passage)  # Gemma's 262k vocabulary needs fewer tokens than SmolLM2
    with torch.no_grad():
        scores = model(torch.tensor([passage])).logits[0].float().numpy()
        positions = [top(scores[i], TOP_K) for i in range(len(passage))]
        prompts = []
        for text in PROMPTS:
            ids = bos + tok(text, add_special_tokens=False)["input_ids"]
            o = model(torch.tensor([ids]), use_cache=True)
            first = o.logits[0, -1].float().numpy()
            row, past, out = first, o.past_key_values, []
            for _ in range(CONTINUATION):
                nxt = int(np.argmax(row))
                out.append(nxt)
                o = model(torch.tensor([[nxt]]), past_key_values=past, use_cache=True)
                row, past = o.logits[0, -1].float().numpy(), o.past_key_values
            prompts.append({"text": text, "prompt_tokens": ids, "greedy": out, "first_top": top(first, TOP_K)})
    return passage, positions, prompts, f"transformers {transformers.__version__} (GGUF dequantized to float32), torch {torch.__version__}"


def main():
    if BACKEND == "transformers":
        passage, positions, prompts, generator = main_transformers()
        write(passage, positions, prompts, generator)
        return
    from llama_cpp import Llama
    llm = Llama(model_path=model_path, logits_all=True, n_ctx=2048, n_batch=512, n_threads=2, verbose=False)
    # BOS only where the model asks for it (gemma3 yes, SmolLM2 no), as llama.cpp does for raw prompts.
    add_bos = str(llm.metadata.get("tokenizer.ggml.add_bos_token", "false")).lower() == "true"
    passage = llm.tokenize(PASSAGE.encode("utf-8"), add_bos=add_bos, special=False)
    assert len(passage) >= 900, len(passage)  # Gemma's 262k vocabulary needs fewer tokens than SmolLM2
    passage = passage[:PASSAGE_TOKENS]
    llm.reset()
    llm.eval(passage)
    scores = np.array(llm.scores[: len(passage)], dtype=np.float32)
    positions = [top(scores[i], TOP_K) for i in range(len(passage))]

    prompts = []
    for text in PROMPTS:
        ids = llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        llm.reset()
        llm.eval(ids)
        first = np.array(llm.scores[len(ids) - 1], dtype=np.float32)
        out = []
        row = first
        for _ in range(CONTINUATION):
            nxt = int(np.argmax(row))
            out.append(nxt)
            llm.eval([nxt])
            row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
        prompts.append({"text": text, "prompt_tokens": ids, "greedy": out, "first_top": top(first, TOP_K)})

    import llama_cpp
    write(passage, positions, prompts, f"llama-cpp-python {llama_cpp.__version__}, n_threads=2, n_batch=512, logits_all")


def write(passage, positions, prompts, generator):
    doc = {
        "model": os.path.basename(model_path),
        "model_sha256": sha256(model_path),
        "generator": generator,
        "top_k": TOP_K,
        "passage_tokens": passage,
        "passage_top": positions,
        "prompts": prompts,
    }
    with open(out_path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {out_path}: {len(passage)} passage tokens, {len(prompts)} prompts")


if __name__ == "__main__":
    main()
