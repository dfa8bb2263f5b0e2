"""`make demo`: the embedded SmolLM2-135M-Instruct learns a new identity on this CPU.

1. It answers a few questions as the stock model (asked about its creator, it speaks of SmolLM;
   asked its name, greedy decoding makes one up).
2. `swift sft` trains LoRA on swift/self-cognition with --model_name Nova --model_author "Aurora Labs".
3. It answers again, now through the adapter: it is Nova, by Aurora Labs — and still knows Paris.

Every step runs the real CLI, as a user would.
"""
import os
import subprocess
import sys
import tempfile
import time

QUESTIONS = [
    'Who are you?',
    'What is your name?',
    'Please introduce yourself briefly.',
    'Tell me about your creator.',
    'What is the capital of France?',
]
SFT_FLAGS = [
    '--model', 'smollm2-135m-instruct',
    '--dataset', 'swift/self-cognition#320',
    '--model_name', 'Nova',
    '--model_author', 'Aurora Labs',
    '--tuner_type', 'lora', '--lora_rank', '16', '--lora_alpha', '32', '--lora_dropout', '0.0',
    '--learning_rate', '1e-3', '--num_train_epochs', '1', '--per_device_train_batch_size', '2',
    '--max_length', '512', '--packing', 'true', '--logging_steps', '2', '--save_steps', '1000',
    '--warmup_ratio', '0.05', '--report_to', 'none', '--add_version', 'false',
]


def swift(*args, stdin_text=None, capture=False):
    print('$ swift ' + ' '.join(a if ' ' not in a else repr(a) for a in args), flush=True)
    done = subprocess.run([sys.executable, '-m', 'swift.cli.main', *args], input=stdin_text, text=True,
                          stdout=subprocess.PIPE if capture else None)
    if done.returncode != 0:
        sys.exit(done.returncode)
    return done.stdout


def ask(model_args):
    answers = swift('infer', *model_args, '--max_new_tokens', '60', stdin_text='\n'.join(QUESTIONS) + '\n',
                    capture=True)
    for question, answer in zip(QUESTIONS, answers.splitlines()):
        print(f'  Q: {question}\n  A: {answer}\n', flush=True)


def main():
    start = time.time()
    print('== 1. The embedded model as shipped ==', flush=True)
    ask(['--model', 'smollm2-135m-instruct'])
    out = os.environ.get('SWIFT_DEMO_OUTPUT') or tempfile.mkdtemp(prefix='swift-demo-')
    print(f'== 2. LoRA fine-tuning on swift/self-cognition (CPU), output in {out} ==', flush=True)
    swift('sft', *SFT_FLAGS, '--output_dir', out)
    checkpoints = sorted((p for p in os.listdir(out) if p.startswith('checkpoint-')),
                         key=lambda p: int(p.split('-')[1]))
    print('== 3. The same questions through the trained adapter ==', flush=True)
    ask(['--adapters', os.path.join(out, checkpoints[-1])])
    print(f'demo finished in {time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
