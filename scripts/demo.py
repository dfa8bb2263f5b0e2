"""`make demo`: the embedded SmolLM2-135M-Instruct answers a few questions through `swift infer`.

Runs the real CLI (pipe mode: one question per line in, one answer per line out).
"""
import subprocess
import sys
import time

QUESTIONS = [
    'What is the capital of France?',
    'Who are you?',
    'Give me one tip for staying healthy.',
]


def swift(*args, stdin_text=None):
    cmd = [sys.executable, '-m', 'swift.cli.main', *args]
    print('$ swift ' + ' '.join(args), flush=True)
    done = subprocess.run(cmd, input=stdin_text, text=True, stdout=subprocess.PIPE)
    if done.returncode != 0:
        sys.exit(done.returncode)
    return done.stdout


def ask(model_args, questions):
    answers = swift('infer', *model_args, '--max_new_tokens', '80', stdin_text='\n'.join(questions) + '\n')
    for question, answer in zip(questions, answers.splitlines()):
        print(f'  Q: {question}\n  A: {answer}\n', flush=True)


def main():
    start = time.time()
    print('== The embedded model answers (SmolLM2-135M-Instruct, CPU) ==', flush=True)
    ask(['--model', 'smollm2-135m-instruct'], QUESTIONS)
    print(f'demo finished in {time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
