"""`swift eval` end to end: every benchmark on the real model, an adapter checkpoint, the Python API
(evaluate and swift.load(...).evaluate), OpenAI-compatible servers (a recording stand-in and the real
`swift deploy`), the training callback and `swift sft --eval_benchmarks`, and the other backends' hand-off."""
import json

import pytest

from swift.cli.main import main as swift_main
from swift.utils import SwiftError

from tests.helpers.checkpoints import lora_checkpoint


def _result(out):
    [path] = list(out.rglob('eval_result.json'))
    return json.loads(path.read_text(encoding='utf-8')), path.parent


def _samples(run_dir, name):
    return [json.loads(line) for line in (run_dir / 'samples' / f'{name}.jsonl').read_text().splitlines()]


def test_every_benchmark_on_the_embedded_model(smollm_dir, shared_data, tmp_path, capsys):
    args = {'mmlu': {'subsets': ['marketing'], 'few_shot_num': 1}, 'ceval': {'subsets': ['law'], 'few_shot_num': 1},
            'cmmlu': {'subsets': ['anatomy'], 'few_shot_num': 1}, 'gsm8k': {'few_shot_num': 2, 'max_new_tokens': 24}}
    code = swift_main(['eval', '--model', str(smollm_dir), '--eval_dataset', 'mmlu', 'ceval', 'cmmlu', 'gsm8k', 'arc_c',
                       'arc_e', 'hellaswag', '--eval_limit', '2', '--eval_dataset_dir', str(shared_data),
                       '--eval_dataset_args', json.dumps(args), '--eval_output_dir', str(tmp_path),
                       '--torch_dtype', 'float32'])  # CPU's default, also on a GPU: the scores below are exact
    assert code == 0
    table = capsys.readouterr().out
    assert 'mmlu (loglikelihood, 1-shot)' in table and 'gsm8k (generation, 2-shot)' in table
    result, run_dir = _result(tmp_path)
    assert run_dir == tmp_path / smollm_dir.name  # a fixed folder per model: a rerun resumes there
    assert list(result['results']) == ['mmlu', 'ceval', 'cmmlu', 'gsm8k', 'arc_c', 'arc_e', 'hellaswag']
    for name, bench in result['results'].items():
        assert bench['metrics']['n'] == 2, name
        assert len(_samples(run_dir, name)) == 2
    gsm8k = _samples(run_dir, 'gsm8k')[0]
    assert gsm8k['output'] and gsm8k['gold'] == '18' and 'Q:' not in gsm8k['output']
    assert gsm8k['prompt'].endswith('\nA:')
    # The real model knows some of these: on the first two ARC-Easy rows it prefers the gold answer to the
    # photosynthesis question by far (-0.40 nats per character against -0.63 for the next choice) and picks
    # "safety goggles" over the gold "breathing mask" against mold spores (-1.10 against -1.18), so acc_norm
    # is exactly 1/2. Both margins dwarf float32 rounding; the score must also be what the logged
    # log-likelihoods give by the per-character rule, recomputed here.
    arc_e = _samples(run_dir, 'arc_e')
    per_char = [[ll / len(c.removeprefix(' ')) for ll, c in zip(r['logliks'], r['choices'])] for r in arc_e]
    picks = [max(range(len(values)), key=values.__getitem__) for values in per_char]
    assert picks == [r['pred_norm_index'] for r in arc_e] == [0, 0] and [r['gold'] for r in arc_e] == [0, 1]
    assert result['results']['arc_e']['metrics']['acc_norm'] == 0.5


ALL_BENCHMARKS = ['mmlu', 'ceval', 'cmmlu', 'gsm8k', 'arc_c', 'arc_e', 'hellaswag']
# one subject each, few shots, short generations: every benchmark in seconds on the tiny model
SMALL_ARGS = {'mmlu': {'subsets': ['marketing'], 'few_shot_num': 1}, 'ceval': {'subsets': ['law'], 'few_shot_num': 1},
              'cmmlu': {'subsets': ['anatomy'], 'few_shot_num': 1},
              'gsm8k': {'few_shot_num': 1, 'max_new_tokens': 8, 'limit': 1}}


def test_adapter_checkpoint(tiny_model_dir, shared_data, tmp_path):
    checkpoint = lora_checkpoint(tiny_model_dir, tmp_path / 'v0' / 'checkpoint-1')
    common = ['--eval_dataset', *ALL_BENCHMARKS, '--eval_limit', '2', '--eval_dataset_dir', str(shared_data),
              '--eval_dataset_args', json.dumps(SMALL_ARGS)]
    base_args = ['--model', str(tiny_model_dir), *common, '--eval_output_dir', str(tmp_path / 'base')]
    assert swift_main(['eval', *base_args]) == 0
    # --adapters alone: the base model comes from the checkpoint's args.json
    lora_args = ['--adapters', str(checkpoint), *common, '--eval_output_dir', str(tmp_path / 'lora')]
    assert swift_main(['eval', *lora_args]) == 0
    base, base_dir = _result(tmp_path / 'base')
    lora, lora_dir = _result(tmp_path / 'lora')
    assert lora['model']['adapters'] == [str(checkpoint)] and lora_dir.name.endswith('-v0-checkpoint-1')
    assert list(lora['results']) == ALL_BENCHMARKS
    for name in ALL_BENCHMARKS:
        if name == 'gsm8k':
            assert len(_samples(lora_dir, name)) == 1
            continue
        base_ll = [r['logliks'] for r in _samples(base_dir, name)]
        lora_ll = [r['logliks'] for r in _samples(lora_dir, name)]
        assert len(lora_ll) == 2 and base_ll != lora_ll, name  # the adapter was applied


def test_python_api_with_an_engine_and_a_load_handle(tiny_model_dir, shared_data):
    import swift
    from swift.eval import evaluate
    from swift.infer.transformers_engine import PtEngine
    engine = PtEngine(str(tiny_model_dir))
    try:
        scores = evaluate(engine, 'arc_e', limit=3, dataset_dir=str(shared_data))
    finally:
        engine.close()
    assert set(scores) == {'arc_e'} and scores['arc_e']['n'] == 3
    assert 0.0 <= scores['arc_e']['acc'] <= 1.0 and 'acc_norm' in scores['arc_e']
    again = swift.load(str(tiny_model_dir)).evaluate(['arc_e'], limit=3, dataset_dir=str(shared_data))
    assert again == scores  # the same model scores the same, whichever way it is passed


def test_openai_server_with_and_without_prompt_logprobs(tiny_model_dir, shared_data, tmp_path):
    from swift.eval import evaluate
    from swift.eval.evaluator import build_lm, run_evaluation
    from swift.infer.transformers_engine import PtEngine
    from tests.eval.openai_server import OpenAIServer
    engine = PtEngine(str(tiny_model_dir))
    args = {'gsm8k': {'few_shot_num': 1, 'max_new_tokens': 8}}
    try:
        local = run_evaluation(build_lm(engine), ['arc_c', 'gsm8k'], limit=2, dataset_args=args,
                               dataset_dir=str(shared_data), output_dir=str(tmp_path / 'local'), progress=False)
        with OpenAIServer(engine) as server:
            code = swift_main(['eval', '--eval_url', server.url, '--eval_dataset', 'arc_c', 'gsm8k', '--eval_limit',
                               '2', '--eval_dataset_dir', str(shared_data), '--eval_dataset_args', json.dumps(args),
                               '--eval_output_dir', str(tmp_path / 'server')])
            assert code == 0
            paths = {r['path'] for r in server.requests}
            assert paths == {'/v1/completions'}  # log-likelihoods by echo, GSM8K by plain completion
            assert any(r.get('echo') and r.get('logprobs') == 1 for r in server.requests)
        remote, remote_dir = _result(tmp_path / 'server')
        assert remote['model'] == {'url': server.url, 'model': 'test-model'}
        assert remote['results']['arc_c']['scoring'] == 'loglikelihood'
        for mine, theirs in zip(_samples(tmp_path / 'local', 'arc_c'), _samples(remote_dir, 'arc_c')):
            assert theirs['logliks'] == pytest.approx(mine['logliks'], abs=1e-3)
        assert [r['output'] for r in _samples(remote_dir, 'gsm8k')] == \
            [r['output'] for r in _samples(tmp_path / 'local', 'gsm8k')]

        with OpenAIServer(engine, zero_max_tokens=False) as server:  # echo needs one generated token here
            again = evaluate(eval_url=server.url, datasets='arc_c', limit=2, dataset_dir=str(shared_data))
            assert again['arc_c'] == local['results']['arc_c']['metrics']
            echoes = [r['max_tokens'] for r in server.requests if r.get('echo')]
            assert echoes[0] == 0 and set(echoes[1:]) == {1}  # asked for 0 once, then 1

        with OpenAIServer(engine, logprobs=False) as server:
            scores = evaluate(eval_url=server.url, datasets='arc_c', limit=2, dataset_dir=str(shared_data))
            assert scores['arc_c']['n'] == 2 and set(scores['arc_c']) == {'n', 'acc'}  # scored by the answer letter
            chat = evaluate(eval_url=server.url, datasets='arc_c', limit=2, dataset_dir=str(shared_data), chat=True)
            assert chat['arc_c']['n'] == 2
            assert any(r['path'] == '/v1/chat/completions' for r in server.requests)
    finally:
        engine.close()


def test_unreachable_server_is_one_clear_error(shared_data, capsys):
    code = swift_main(['eval', '--eval_url', 'http://127.0.0.1:9/v1', '--eval_dataset', 'arc_c', '--eval_dataset_dir',
                       str(shared_data)])
    err = capsys.readouterr().err
    assert code == 1 and 'cannot connect' in err and len(err.strip().splitlines()) == 1


def test_user_errors_are_one_line(tiny_model_dir, capsys):
    assert swift_main(['eval', '--model', str(tiny_model_dir), '--eval_dataset', 'mmlux']) == 1
    assert "unknown benchmark 'mmlux'. Did you mean: mmlu" in capsys.readouterr().err
    assert swift_main(['eval', '--model', str(tiny_model_dir)]) == 1
    assert '--eval_dataset is required' in capsys.readouterr().err
    assert swift_main(['eval', '--eval_dataset', 'gsm8k']) == 1
    assert '--model is required' in capsys.readouterr().err


def test_benchmark_callback_logs_scores_at_each_evaluation(tiny_model_dir, shared_data, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments
    from swift.eval import BenchmarkEvalCallback
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    rows = [{'input_ids': ids, 'labels': ids} for ids in
            (tokenizer.encode(f'{i} plus {i} is {2 * i}.') for i in range(4))]
    callback = BenchmarkEvalCallback(['arc_e'], limit=2, dataset_dir=str(shared_data))
    trainer = Trainer(model=model, processing_class=tokenizer, train_dataset=rows, eval_dataset=rows,
                      callbacks=[callback],
                      args=TrainingArguments(output_dir=str(tmp_path), max_steps=2, eval_strategy='steps', eval_steps=1,
                                             per_device_train_batch_size=1, per_device_eval_batch_size=1,
                                             logging_steps=1, report_to=[], use_cpu=True, save_strategy='no'))
    trainer.train()
    evals = [e for e in trainer.state.log_history if 'eval_loss' in e]
    assert len(evals) == 2
    for entry in evals:
        assert 0.0 <= entry['eval_arc_e_acc'] <= 1.0 and 'eval_arc_e_acc_norm' in entry
    assert [step for step, _ in callback.history] == [1, 2]
    model.train()
    assert set(callback.scores(model, tokenizer)) == {'eval_arc_e_acc', 'eval_arc_e_acc_norm'}
    assert model.training  # scored in eval mode, then put back


def test_other_backends_hand_off(tiny_model_dir, tmp_path, monkeypatch):
    import importlib.util
    from swift.arguments import EvalArguments
    from swift.eval.backends import lm_eval_runs, run_backend
    from swift.utils.args import parse_args
    args = parse_args(EvalArguments, ['--model', str(tiny_model_dir), '--eval_dataset', 'gsm8k', 'arc_c',
                                      '--eval_limit', '5', '--eval_backend', 'lm_eval',
                                      '--eval_output_dir', str(tmp_path)])
    runs = lm_eval_runs(args)
    assert [r['tasks'] for r in runs] == [['gsm8k_cot'], ['arc_challenge']]
    assert runs[0]['model'] == 'hf' and runs[0]['model_args']['pretrained'] == str(tiny_model_dir)
    assert runs[0]['limit'] == 5 and runs[0]['num_fewshot'] is None
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'evalscope' else real_find_spec(name, *a))
    args = parse_args(EvalArguments, ['--eval_url', 'http://127.0.0.1:9/v1', '--eval_dataset', 'mmlu',
                                      '--eval_backend', 'evalscope', '--eval_output_dir', str(tmp_path)])
    with pytest.raises(SwiftError, match='needs the evalscope package: pip install evalscope'):
        run_backend(args)


def test_chat_template_mode(tiny_model_dir, shared_data, tmp_path):
    from swift.eval import evaluate
    args = {'gsm8k': {'few_shot_num': 1, 'max_new_tokens': 4}}
    scores = evaluate(str(tiny_model_dir), ['arc_c', 'gsm8k'], limit=1, dataset_args=args, chat=True,
                      template='smollm2', dataset_dir=str(shared_data), output_dir=str(tmp_path))
    assert scores['arc_c']['n'] == 1 and scores['gsm8k']['n'] == 1
    arc = _samples(tmp_path, 'arc_c')[0]
    assert '<|im_start|>user\nQuestion: ' in arc['prompt'] and arc['prompt'].endswith('<|im_start|>assistant\n')
    assert not arc['choices'][0].startswith(' ')  # the reply starts the assistant turn: no space before it
    messages = _samples(tmp_path, 'gsm8k')[0]['prompt']
    assert [m['role'] for m in messages] == ['user', 'assistant', 'user']
    assert messages[2]['content'].startswith('Q: Janet')


def test_load_handle_evaluate_scores_the_handle_with_its_adapters(tiny_model_dir, shared_data, tmp_path):
    import swift
    from swift.eval import evaluate
    checkpoint = lora_checkpoint(tiny_model_dir, tmp_path / 'v0' / 'checkpoint-1')
    data = {'dataset_dir': str(shared_data)}
    handle = swift.load(str(tiny_model_dir), adapters=[str(checkpoint)])
    scores = handle.evaluate(['arc_c', 'gsm8k'], limit=2, output_dir=str(tmp_path / 'handle'),
                             dataset_args={'gsm8k': {'few_shot_num': 1, 'max_new_tokens': 8, 'limit': 1}}, **data)
    assert scores['arc_c']['n'] == 2 and 'acc_norm' in scores['arc_c']
    assert scores['gsm8k']['n'] == 1 and 'exact_match' in scores['gsm8k']
    # the same numbers as evaluating the checkpoint directly; the base model's differ (the adapter was applied)
    evaluate(str(tiny_model_dir), 'arc_c', limit=2, adapters=[str(checkpoint)], output_dir=str(tmp_path / 'direct'),
             **data)
    evaluate(str(tiny_model_dir), 'arc_c', limit=2, output_dir=str(tmp_path / 'base'), **data)
    logliks = {run: [v for r in _samples(tmp_path / run, 'arc_c') for v in r['logliks']]
               for run in ('handle', 'direct', 'base')}
    assert logliks['handle'] == pytest.approx(logliks['direct'], abs=1e-4)
    assert logliks['handle'] != pytest.approx(logliks['base'], abs=1e-4)
    with pytest.raises(SwiftError, match='takes no adapters='):
        handle.evaluate('arc_c', limit=1, adapters=[str(checkpoint)], **data)


def _log_records(run_dir):
    return [json.loads(line) for line in (run_dir / 'logging.jsonl').read_text().splitlines()]


@pytest.mark.parametrize('with_val', [False, True], ids=['no_val_dataset', 'val_dataset'])
def test_sft_eval_benchmarks_are_logged_and_plotted(tiny_model_dir, shared_data, tmp_path, with_val):
    data = tmp_path / 'train.jsonl'
    data.write_text(''.join(json.dumps({'messages': [{'role': 'user', 'content': f'What is {i} plus {i}?'},
                                                     {'role': 'assistant', 'content': f'{2 * i}.'}]}) + '\n'
                            for i in range(4)))
    argv = ['sft', '--model', str(tiny_model_dir), '--template', 'smollm2', '--dataset', str(data),
            '--output_dir', str(tmp_path / 'out'), '--max_steps', '2', '--eval_steps', '1', '--logging_steps', '2',
            '--report_to', 'none', '--eval_benchmarks', 'arc_e', 'gsm8k', '--eval_benchmark_limit', '1',
            '--eval_dataset_dir', str(shared_data),
            '--eval_dataset_args', json.dumps({'gsm8k': {'few_shot_num': 1, 'max_new_tokens': 4}})]
    if with_val:
        argv += ['--val_dataset', str(data)]
    assert swift_main(argv) == 0
    [run] = [p for p in (tmp_path / 'out').iterdir() if p.is_dir()]
    scored = [r for r in _log_records(run) if 'eval_arc_e_acc' in r]
    assert [r['global_step'] for r in scored] == [1, 2]  # every eval step, with or without a validation set
    beside = 'eval_loss' if with_val else 'loss'
    for record in scored:
        assert beside in record and 0.0 <= record['eval_arc_e_acc_norm'] <= 1.0
        assert 0.0 <= record['eval_gsm8k_exact_match'] <= 1.0
    for key in ('eval_arc_e_acc', 'eval_gsm8k_exact_match'):
        assert (run / 'images' / f'{key}.png').is_file(), key


def test_sft_eval_benchmarks_bad_flags_fail_before_training(tiny_model_dir, capsys):
    base = ['sft', '--model', str(tiny_model_dir), '--dataset', 'x.jsonl']
    assert swift_main([*base, '--eval_benchmarks', 'gsm8kk']) == 1
    assert "unknown benchmark 'gsm8kk'" in capsys.readouterr().err
    assert swift_main([*base, '--eval_benchmark_limit', '5']) == 1
    assert 'need --eval_benchmarks' in capsys.readouterr().err


def test_eval_against_a_real_swift_deploy_server(tiny_model_dir, shared_data, tmp_path):
    """`swift eval --eval_url` on `swift deploy`: prompt log-likelihoods by echo, the same scores as locally."""
    from swift.eval.evaluator import build_lm, run_evaluation
    from swift.infer.transformers_engine import PtEngine
    from tests.infer.server.conftest import running_server
    engine = PtEngine(str(tiny_model_dir))
    args = json.dumps(SMALL_ARGS)
    common = ['--eval_dataset', *ALL_BENCHMARKS, '--eval_limit', '2', '--eval_dataset_dir', str(shared_data),
              '--eval_dataset_args', args]
    try:
        local = run_evaluation(build_lm(engine), ALL_BENCHMARKS, limit=2, dataset_args=json.loads(args),
                               dataset_dir=str(shared_data), output_dir=str(tmp_path / 'local'), progress=False)
        with running_server(engine, served_model_name='tiny-deploy') as server:
            code = swift_main(['eval', '--eval_url', server.url + '/v1', *common,
                               '--eval_output_dir', str(tmp_path / 'server')])
        assert code == 0
    finally:
        engine.close()
    remote, remote_dir = _result(tmp_path / 'server')
    assert remote['model']['model'] == 'tiny-deploy'
    arc = remote['results']['arc_c']
    assert arc['scoring'] == 'loglikelihood' and arc['metrics']['acc_norm'] is not None  # not the letter fallback
    for name in ALL_BENCHMARKS:
        assert remote['results'][name]['metrics'] == local['results'][name]['metrics'], name
        if name != 'gsm8k':
            assert remote['results'][name]['scoring'] == 'loglikelihood', name
            for mine, theirs in zip(_samples(tmp_path / 'local', name), _samples(remote_dir, name)):
                assert theirs['logliks'] == pytest.approx(mine['logliks'], abs=1e-3), name
    assert [r['output'] for r in _samples(remote_dir, 'gsm8k')] == \
        [r['output'] for r in _samples(tmp_path / 'local', 'gsm8k')]
