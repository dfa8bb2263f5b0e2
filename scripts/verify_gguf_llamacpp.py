"""Check a GGUF written by `swift export --to_gguf` in llama.cpp itself (run by hand; needs llama-cpp-python:
`pip install "swift-llm[gguf]"`, which builds llama.cpp).

    python scripts/verify_gguf_llamacpp.py --model <model dir> --gguf <export dir>/<name>-Q8_0.gguf [--template smollm2]

1. Tokenizer: llama.cpp's tokenizer (the GGUF's vocabulary, merges and pre-tokenizer name) gives the same ids
   as the source's tokenizer on the prompts, a chat prompt and text with digits, Chinese and emoji.
2. Greedy completions of 10 prompts (the prompts of tests/export/test_gguf.py): llama.cpp on the GGUF against
   transformers on the source model; where they part, the source's margin between its two best tokens there.
3. The chat template: llama.cpp's Jinja chat formatter (built from the GGUF's tokenizer.chat_template with the
   GGUF's BOS/EOS, as `Llama` builds its chat handler) renders a system + multi-turn conversation exactly as
   swift's template does; then `create_chat_completion` (the chat handler itself: the GGUF's template, its
   tokenization of special tokens, its stop token) answers the same greedy text as transformers on swift's
   rendering of that conversation.
Exit status 0 when the tokenizer and the chat template agree and at least --min_same of the 10 completions are
identical (default 9); the mismatches are printed.
--kv_type f32 keeps llama.cpp's KV cache in f32 instead of its default f16 (which rounds every cached key and
value): to tell that rounding apart from the weights' (docs/export.md, GGUF).
"""
import argparse
import sys

PROMPTS = ['The capital of France is', 'def fibonacci(n):', 'Once upon a time, there was a',
           'The three primary colors are', 'Water boils at a temperature of', 'import numpy as np\n',
           'Q: What is 12 times 7?\nA:', 'The largest planet in our solar system is',
           'To make a cup of tea, first', 'Les fleurs du jardin sont']
TEXTS = ['<|im_start|>user\n  spaced 你好 🌍 3.14159<|im_end|>', 'x = 12345 + 678; print(x)  # done']
MESSAGES = [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'},
            {'role': 'assistant', 'content': 'Hello!'}, {'role': 'user', 'content': 'Name a colour.'}]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', required=True, help='the source model directory')
    parser.add_argument('--gguf', required=True, help='the exported .gguf file')
    parser.add_argument('--template', default=None, help='swift template name (default: the model\'s)')
    parser.add_argument('--new_tokens', type=int, default=16)
    parser.add_argument('--min_same', type=int, default=9, help='identical completions needed (of 10)')
    parser.add_argument('--kv_type', choices=('f16', 'f32'), default='f16',
                        help="llama.cpp's KV cache type (default f16, llama.cpp's own default)")
    args = parser.parse_args()

    import llama_cpp
    import torch
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from swift.model.resolve import resolve_model
    from swift.template import get_template

    print(f'llama-cpp-python {llama_cpp.__version__}; {args.gguf}; KV cache {args.kv_type}')
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    source = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    kv_type = {'f16': llama_cpp.GGML_TYPE_F16, 'f32': llama_cpp.GGML_TYPE_F32}[args.kv_type]
    llm = Llama(model_path=args.gguf, n_ctx=512, verbose=False, seed=0, type_k=kv_type, type_v=kv_type)
    template = get_template(args.template or resolve_model(args.model).template)
    rendered = template.render(MESSAGES, add_generation_prompt=True)

    tokenizer_same = all(llm.tokenize(text.encode(), add_bos=False, special=True)
                         == tokenizer(text, add_special_tokens=False).input_ids
                         for text in PROMPTS + TEXTS + [rendered])
    print('tokenizer:', 'same ids as the source' if tokenizer_same else 'DIFFERENT ids')

    same = 0
    for prompt in PROMPTS:
        ids = tokenizer(prompt).input_ids
        expected = _greedy(source, ids, args.new_tokens)
        got = []
        for token in llm.generate(ids, temp=0.0, top_k=1, reset=True):
            got.append(token)
            if len(got) == len(expected) or token == llm.token_eos():
                break
        same += got == expected
        text = llm.detokenize(got).decode(errors='replace')
        note = '' if got == expected else f' (source margin where they part: {_margin(source, ids, got, expected)})'
        print(f'{"same" if got == expected else "DIFFERENT"}: {prompt!r} → {text!r}{note}')
    print(f'{same}/{len(PROMPTS)} greedy continuations identical')

    # the formatter as Llama builds its chat handler from the GGUF (llama_cpp/llama.py: template_choices)
    eos = llm._model.token_get_text(llm.token_eos())
    bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() != -1 else ''
    formatted = Jinja2ChatFormatter(template=llm.metadata['tokenizer.chat_template'], eos_token=eos,
                                    bos_token=bos)(messages=MESSAGES).prompt
    template_same = formatted == rendered
    print(f'chat format chosen by llama-cpp-python: {llm.chat_format}')
    print('chat template:', 'same as swift' if template_same else f'DIFFERENT\n{formatted!r}\n{rendered!r}')
    answer = llm.create_chat_completion(messages=MESSAGES, max_tokens=args.new_tokens, temperature=0.0, top_k=1,
                                        seed=0)['choices'][0]['message']['content']
    ids = tokenizer(rendered, add_special_tokens=False).input_ids
    expected_answer = tokenizer.decode(_greedy(source, ids, args.new_tokens), skip_special_tokens=True)
    print(f'chat handler answer: {answer!r}; transformers on swift\'s rendering: {expected_answer!r} '
          f'({"same" if answer == expected_answer else "DIFFERENT"})')
    return 0 if tokenizer_same and template_same and same >= args.min_same else 1


def _greedy(model, ids, new_tokens):
    import torch
    with torch.inference_mode():
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             max_new_tokens=new_tokens, do_sample=False)
    return out[0, len(ids):].tolist()


def _margin(model, ids, got, expected) -> str:
    """The source's logit margin between its token and llama.cpp's at the first position where they part."""
    import torch
    first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), None)
    if first is None:
        return 'one is a prefix of the other'
    with torch.inference_mode():
        logits = model(torch.tensor([ids + expected[:first]])).logits[0, -1]
    return f'{float(logits[expected[first]] - logits[got[first]]):.4f} at token {first}'


if __name__ == '__main__':
    sys.exit(main())
