"""Check a GGUF written by `swift export --to_gguf` in llama.cpp itself (run by hand; needs llama-cpp-python:
`pip install "swift-llm[gguf]"`, which builds llama.cpp).

    python scripts/verify_gguf_llamacpp.py --model <model dir> --gguf <export dir>/<name>-Q8_0.gguf [--template smollm2]

1. Greedy completions of 10 prompts: llama.cpp on the GGUF against transformers on the source model
   (same token ids, as make test checks with transformers' GGUF loader).
2. The chat template: llama.cpp's Jinja chat handler (built from the GGUF's tokenizer.chat_template) formats
   a system + multi-turn conversation; the text must equal swift's template rendering.
Exit status 0 when all agree; the mismatches are printed otherwise.
"""
import argparse
import sys

PROMPTS = ['The capital of France is', 'def fibonacci(n):', 'Once upon a time, there was a',
           'The three primary colors are', 'Water boils at a temperature of', 'import numpy as np\n',
           'Q: What is 12 times 7?\nA:', 'The largest planet in our solar system is',
           'To make a cup of tea, first', 'Les fleurs du jardin sont']
MESSAGES = [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'},
            {'role': 'assistant', 'content': 'Hello!'}, {'role': 'user', 'content': 'Name a colour.'}]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', required=True, help='the source model directory')
    parser.add_argument('--gguf', required=True, help='the exported .gguf file')
    parser.add_argument('--template', default=None, help='swift template name (default: the model\'s)')
    parser.add_argument('--new_tokens', type=int, default=16)
    args = parser.parse_args()

    import torch
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from swift.model.resolve import resolve_model
    from swift.template import get_template

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    source = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    llm = Llama(model_path=args.gguf, n_ctx=512, verbose=False, logits_all=False)
    same = 0
    for prompt in PROMPTS:
        ids = tokenizer(prompt).input_ids
        expected = source.generate(torch.tensor([ids]), max_new_tokens=args.new_tokens,
                                   do_sample=False)[0, len(ids):].tolist()
        got = []
        for token in llm.generate(ids, temp=0.0, top_k=1, reset=True):
            got.append(token)
            if len(got) == len(expected) or token == llm.token_eos():
                break
        same += got == expected
        text = llm.detokenize(got).decode(errors='replace')
        print(f'{"same" if got == expected else "DIFFERENT"}: {prompt!r} → {text!r}')
    print(f'{same}/{len(PROMPTS)} greedy continuations identical')

    metadata = llm.metadata
    formatter = Jinja2ChatFormatter(template=metadata['tokenizer.chat_template'], eos_token=tokenizer.eos_token or '',
                                    bos_token=tokenizer.bos_token or '')
    rendered = formatter(messages=MESSAGES).prompt
    template = get_template(args.template or resolve_model(args.model).template)
    expected_text = template.render(MESSAGES, add_generation_prompt=True)
    verdict = 'same as swift' if rendered == expected_text else f'DIFFERENT\n{rendered!r}\n{expected_text!r}'
    print('chat template:', verdict)
    return 0 if rendered == expected_text and same >= len(PROMPTS) - 1 else 1


if __name__ == '__main__':
    sys.exit(main())
