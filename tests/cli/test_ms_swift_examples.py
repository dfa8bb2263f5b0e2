"""ms-swift 4 example-style commands (written from its docs and examples/, not copied), the model swapped for the
tiny one (plus --template smollm2, which the tiny model's tokenizer needs) and the data for a few rows.

Each command either runs (features swift has: a step or two), parses (`--check_args`: valid and resolved as
ms-swift means it), or is refused with the refusal table's message (swift/arguments/unsupported.py). As features
land, a command moves from REFUSED to PARSES or RUNS.
"""
import json
import shlex
from pathlib import Path

import pytest

from swift.cli.main import main as swift

ROW = {'messages': [{'role': 'user', 'content': 'What is 2 plus 2?'}, {'role': 'assistant', 'content': '4.'}]}


@pytest.fixture(scope='module')
def files(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp('ms-swift-examples')
    rows = [{'messages': [{'role': 'user', 'content': f'What is {i} plus {i}?'},
                          {'role': 'assistant', 'content': f'{i} plus {i} is {2 * i}.'}]} for i in range(9)]
    pairs = [{**row, 'rejected_response': 'I do not know.'} for row in rows[:4]]
    prompts = [{'messages': row['messages'][:1], 'solution': str(2 * i)} for i, row in enumerate(rows[:4])]
    texts = [{'text': 'The quick brown fox jumps over the lazy dog. ' * 6} for _ in range(2)]
    for name, data in (('data.jsonl', rows), ('pairs.jsonl', pairs), ('prompts.jsonl', prompts),
                       ('text.jsonl', texts)):
        (root / name).write_text(''.join(json.dumps(r) + '\n' for r in data))
    (root / 'system.txt').write_text('You are a careful assistant.\nAnswer briefly.')
    (root / 'run' / 'checkpoint-2').mkdir(parents=True)  # (--check_args looks at the folder only)
    return {'model': str(tiny_model_dir), 'data': str(root / 'data.jsonl'), 'pairs': str(root / 'pairs.jsonl'),
            'prompts': str(root / 'prompts.jsonl'), 'text': str(root / 'text.jsonl'),
            'system': str(root / 'system.txt'), 'out': str(root / 'output'),
            'checkpoint': str(root / 'run' / 'checkpoint-2')}


def run(command: str, files, capsys, monkeypatch, env=None):
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = swift(shlex.split(command.format(**files)))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


TINY = '--model {model} --template smollm2 --torch_dtype float32 --report_to none'

PARSES = {
    'sft, hub revision and flash attention spelled as ms-swift': (
        f'sft {TINY} --model_revision master --dataset {{data}} --attn_impl flash_attn --use_hf true '
        "--lr_scheduler_type cosine_with_min_lr --lr_scheduler_kwargs '{{\"min_lr\": 1e-6}}' --adam_beta2 0.95 "
        '--warmup_ratio 0.05 --gradient_checkpointing true --save_strategy epoch --optim adamw_torch_fused',
        {'attn_impl': 'flash_attention_2', 'revision': 'master', 'lr_scheduler_kwargs': {'min_lr': 1e-6}}),
    'grpo with two reward models and batch-scaled rewards': (
        'rlhf --rlhf_type grpo --model {model} --dataset {prompts} --reward_funcs accuracy format '
        '--reward_model {model} {model} --reward_weights 1 1 0.5 0.5 --num_generations 4 --scale_rewards batch '
        '--max_completion_length 64 --temperature 0.9 --beta 0.04',
        {'scale_rewards': 'batch', 'max_new_tokens': 64}),
    'deploy with the pt backend and prompt truncation': (
        'deploy --model {model} --infer_backend pt --served_model_name tiny --port 8000 --max_new_tokens 64 '
        '--truncation_strategy left --max_length 1024',
        {'infer_backend': 'transformers', 'truncation_strategy': 'left'}),
    'deploy naming the owner': ('deploy --model {model} --served_model_name tiny --owned_by my-team',
                                {'owned_by': 'my-team'}),
    'sft keeping the best checkpoint, with links': (
        f'sft {TINY} --dataset {{data}} --split_dataset_ratio 0.2 --metric_for_best_model loss --greater_is_better '
        'false --save_total_limit 2 --create_checkpoint_symlink true --logging_dir {out}/tb '
        '--gradient_checkpointing_kwargs \'{{"use_reentrant": false}}\' --ignore_data_skip true',
        {'metric_for_best_model': 'loss', 'greater_is_better': False, 'create_checkpoint_symlink': True,
         'gradient_checkpointing_kwargs': {'use_reentrant': False}, 'ignore_data_skip': True}),
    'export a cached dataset for swift pt': (
        'export --model {model} --dataset {text} --to_cached_dataset true --truncation_strategy split '
        '--max_length 32 --use_chat_template false --loss_scale all --split_dataset_ratio 0.5 --dataset_num_proc 2',
        {'to_cached_dataset': True, 'truncation_strategy': 'split', 'template_mode': 'train'}),
    'eval on the training run\'s validation rows': (
        'eval --model {model} --load_data_args true', {'load_data_args': True}),
    'infer with a system prompt file': (
        'infer --model {model} --infer_backend transformers --system {system} --stream true --temperature 0',
        {'system': 'You are a careful assistant.\nAnswer briefly.'}),
    'full sft with ms-swift trainer flags': (
        f'sft {TINY} --tuner_type full --dataset {{data}} --max_steps 1 --optim adamw_torch --lr_scheduler_type '
        'constant --gradient_checkpointing true --attn_impl sdpa --neftune_noise_alpha 5 --dataloader_drop_last true '
        '--save_only_model true --output_dir {out}/full --eval_strategy no --dataset_num_proc 2',
        {'optim': 'adamw_torch', 'neftune_noise_alpha': 5.0, 'dataloader_drop_last': True}),
    'dpo': (f'rlhf --rlhf_type dpo {TINY} --dataset {{pairs}} --beta 0.1 --max_steps 1 --rpo_alpha 0.1', None),
    'sequence classification': (f'sft {TINY} --dataset {{data}} --task_type seq_cls --num_labels 2',
                                {'task_type': 'seq_cls', 'num_labels': 2}),
    'agent template': (f'sft {TINY} --dataset {{data}} --agent_template hermes', {'agent_template': 'hermes'}),
    'deepspeed zero2': (f'sft {TINY} --dataset {{data}} --deepspeed zero2', {'deepspeed': 'zero2'}),
    'fsdp as ms-swift spells it': (f"sft {TINY} --dataset {{data}} --fsdp 'full_shard auto_wrap'", None),
    'ollama export': ('export --model {model} --to_ollama true', {'to_ollama': True}),
    'push to hub': ('export --model {model} --push_to_hub true --hub_model_id my-org/my-model --hub_token tok '
                    '--use_hf true', {'push_to_hub': True, 'hub_model_id': 'my-org/my-model', 'hub_token': '***'}),
    'rejection sampling': (
        'sample --model {model} --dataset {prompts} --sampler_type sample --num_return_sequences 4 '
        '--orm_model accuracy --n_best_to_keep 2', {'num_return_sequences': 4, 'n_best_to_keep': 2}),
    'export pairs for dpo as a cached dataset': (
        'export --model {model} --dataset {pairs} --to_cached_dataset true --template_mode rlhf',
        {'template_mode': 'rlhf', 'loss_scale': 'last_round'}),
    'infer by beam search': ('infer --model {model} --val_dataset {data} --num_beams 3 --max_new_tokens 16',
                             {'num_beams': 3}),
    'infer with log-probabilities and min-p sampling': (
        'infer --model {model} --val_dataset {data} --logprobs true --top_logprobs 5 --temperature 0.7 --min_p 0.05',
        {'logprobs': True, 'top_logprobs': 5, 'min_p': 0.05}),
    'sft with model placement, an epoch cap and sequence accuracy': (
        f'sft {TINY} --dataset {{data}} --device_map auto --max_memory \'{{{{"cpu": "8GB"}}}}\' --max_epochs 1 '
        '--acc_strategy seq', {'device_map': 'auto', 'max_epochs': 1, 'acc_strategy': 'seq'}),
    'evaluation by generation': (
        f'sft {TINY} --dataset {{data}} --split_dataset_ratio 0.2 --predict_with_generate true',
        {'predict_with_generate': True}),
    'resume the weights only': (
        f'sft {TINY} --dataset {{data}} --resume_from_checkpoint {{checkpoint}} --resume_only_model true',
        {'resume_only_model': True}),
    'pt with split truncation': (
        'pt --model {model} --dataset {text} --max_length 32 --truncation_strategy split',
        None),
}

REFUSED = {
    'sequence parallelism under deepspeed': (
        f'sft {TINY} --dataset {{data}} --deepspeed zero2 --sequence_parallel_size 2', None,
        '--sequence_parallel_size runs under DDP only for now (with --deepspeed / --fsdp it is untested)'),
    'grpo on a vLLM colocate engine': (
        'rlhf --rlhf_type grpo --model {model} --dataset {prompts} --reward_funcs accuracy --use_vllm true '
        '--vllm_mode colocate', None, '--use_vllm: vLLM is not installed'),
    'streaming without max_steps': (f'sft {TINY} --dataset {{data}} --streaming true', None,
                                    '--streaming: the stream has no length, so pass --max_steps'),
    'cached dataset that is not there': (f'sft {TINY} --cached_dataset {{out}}/cached', None,
                                         'no manifest.json there'),
    'cached dataset for grpo': (f'rlhf --rlhf_type grpo {TINY} --reward_funcs accuracy --cached_dataset '
                                '{out}/cached', None, '--cached_dataset is not supported with --rlhf_type grpo'),
    'vLLM deploy flags': ('deploy --model {model} --infer_backend vllm --vllm_max_model_len 4096', None,
                          "--engine_kwargs '{\"<option without vllm_>\": value}'"),
    'data-parallel deploy': ('deploy --model {model}', {'NPROC_PER_NODE': '2'},
                             'NPROC_PER_NODE with swift deploy is not supported yet'),
    'InternVL tiles': (f'sft {TINY} --dataset {{data}}', {'MAX_NUM': '12'},
                       'the environment variable MAX_NUM is not supported yet (multimodal models'),
    'megatron conversion': ('export --model {model} --to_mcore true', None, '--to_mcore is not supported yet'),
    'liger on CPU': (f'sft {TINY} --dataset {{data}} --use_liger_kernel true --check_args', None,
                     '--use_liger_kernel needs the liger-kernel package'),
}


@pytest.mark.parametrize('name', list(PARSES))
def test_parses_as_ms_swift_means_it(name, files, capsys, monkeypatch):
    command, expected = PARSES[name]
    code, out, err = run(command + ' --check_args', files, capsys, monkeypatch)
    assert code == 0, err
    resolved = json.loads(out)
    for key, value in (expected or {}).items():
        assert resolved[key] == value, key


@pytest.mark.parametrize('name', list(REFUSED))
def test_refused_with_the_reason(name, files, capsys, monkeypatch):
    command, env, message = REFUSED[name]
    code, out, err = run(command, files, capsys, monkeypatch, env)
    assert code != 0 and message in err, err
    assert 'Did you mean' not in err


def test_train_then_infer_on_its_validation_split_then_merge(files, capsys, monkeypatch, tmp_path):
    """sft (LoRA, ms-swift's usual flags) → infer and eval --load_data_args on the run's validation rows → export
    merge."""
    monkeypatch.setenv('SWIFT_CACHE', str(tmp_path / 'cache'))
    code, out, err = run(
        f'sft {TINY} --tuner_type lora --dataset {{data}}#6 --num_train_epochs 1 --per_device_train_batch_size 1 '
        '--learning_rate 1e-4 --lora_rank 8 --lora_alpha 32 --target_modules all-linear '
        '--gradient_accumulation_steps 2 --per_device_eval_batch_size 2 --eval_steps 1 --save_steps 1 '
        '--save_total_limit 2 --logging_steps 1 '
        '--max_length 2048 --output_dir {out}/lora --system "You are a helpful assistant." --warmup_ratio 0.05 '
        '--dataloader_num_workers 0 --dataset_num_proc 2 --split_dataset_ratio 0.34 --load_from_cache_file true '
        '--eval_strategy steps --save_strategy steps --data_seed 7 --dataset_shuffle true --max_steps 1',
        files, capsys, monkeypatch)
    assert code == 0, err
    checkpoint = out.split('last_checkpoint: ')[1].split()[0]
    assert list((tmp_path / 'cache' / 'encoded').glob('*.json'))  # --load_from_cache_file wrote the encoded rows
    result = tmp_path / 'val.jsonl'
    code, out, err = run(f'infer --adapters {checkpoint} --load_data_args true --infer_backend transformers '
                         f'--max_new_tokens 2 --temperature 0 --result_path {result} --val_dataset_sample 1', files,
                         capsys, monkeypatch)
    assert code == 0, err
    answered = [json.loads(line) for line in result.read_text().splitlines()]
    from swift.dataset import load_datasets
    split = load_datasets([files['data'] + '#6'], split_dataset_ratio=0.34, seed=7, shuffle=True, log=False)
    assert [a['labels'] for a in answered] == [row['messages'][-1]['content'] for row in split.val][:1]
    assert len(split.val) == 2  # --val_dataset_sample 1 answered the first
    # swift eval --load_data_args scores the same rows teacher-forced: the run's own eval_loss at that step
    code, out, err = run(f'eval --adapters {checkpoint} --load_data_args true --eval_output_dir {tmp_path}/eval',
                         files, capsys, monkeypatch)
    assert code == 0, err
    scored = json.loads(next((tmp_path / 'eval').rglob('eval_result.json')).read_text())['results']['val_split']
    logged = [json.loads(line) for line in (Path(checkpoint).parent / 'logging.jsonl').read_text().splitlines()]
    assert scored['metrics']['n'] == len(split.val)
    assert scored['metrics']['loss'] == pytest.approx([e['eval_loss'] for e in logged if 'eval_loss' in e][-1],
                                                      rel=1e-4)
    code, out, err = run(f'export --adapters {checkpoint} --merge_lora true --output_dir {tmp_path}/merged', files,
                         capsys, monkeypatch)
    assert code == 0, err
    assert (tmp_path / 'merged' / 'config.json').is_file()


def test_pt_runs_a_step_with_split_truncation(files, capsys, monkeypatch):
    code, out, err = run('pt --model {model} --torch_dtype float32 --report_to none --dataset {text} --max_length 32 '
                         '--truncation_strategy split --max_steps 1 --output_dir {out}/pt', files, capsys, monkeypatch)
    assert code == 0, err
    assert Path(out.split('last_checkpoint: ')[1].split()[0]).name == 'checkpoint-1'
