"""`swift eval --model M --eval_dataset mmlu gsm8k [--eval_limit N] [--eval_dataset_dir DIR] [--eval_url URL] ...`"""
import os

from swift.utils.args import format_help, parse_args


def main(argv) -> int:
    from swift.eval.arguments import EvalArguments
    if '-h' in argv or '--help' in argv:
        print(format_help(EvalArguments, 'swift eval'))
        from swift.eval.registry import list_benchmarks
        print(f'\nbenchmarks: {" ".join(list_benchmarks())}')
        return 0
    args = parse_args(EvalArguments, argv)
    if args.eval_backend != 'native':
        from swift.eval.backends import run_backend
        run_backend(args)
        return 0
    from swift.eval.evaluator import build_lm, run_evaluation
    lm = build_lm(args.model, adapters=args.adapters, template=args.template, chat=args.eval_chat_template,
                  batch_size=args.eval_batch_size, eval_url=args.eval_url,
                  api_key=args.api_key or os.environ.get('OPENAI_API_KEY'), concurrency=args.eval_num_proc,
                  system=args.system, max_length=args.max_length,
                  **({} if args.eval_url else args.model_kwargs()))
    run_evaluation(lm, args.eval_dataset, limit=args.eval_limit, dataset_args=args.eval_dataset_args,
                   dataset_dir=args.eval_dataset_dir, output_dir=str(args.output_dir()), resume=args.eval_resume,
                   print_table=True)
    return 0
