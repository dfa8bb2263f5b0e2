"""Where one LoRA training step spends its time: plain Trainer + PEFT's padded step against swift's packed step,
in one process, on the same synthetic rows as benchmarks/train_throughput.py (SmolLM2-135M, LoRA r8 all linear,
max_length 512, batch 4, float32).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_step_profile.py [--steps 3] [--variants baseline,swift]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_step_profile.py --profile   # torch.profiler tables too
    .venv/bin/python benchmarks/train_step_profile.py --ceiling   # matmul/attention work of the benchmark's steps

Each variant is one way of running forward + backward over the same rows (no optimizer: both sides run the
same AdamW over the same LoRA weights); the variants run interleaved, step by step, and the script prints the
CPU seconds (this process's, so other users' load counts less than in wall time) per step, per 1,000 positions
given to the model and per 1,000 trained tokens:

- baseline: PEFT's LoRA layers, transformers' sdpa with the padding mask, the model's own loss over full logits,
  4 rows padded to the longest (DataCollatorForSeq2Seq's batch);
- swift: what `swift sft --packing true` runs on CPU: FusedLoraLinear, per-sequence sdpa (swift_packed_sdpa),
  the chunked loss on trained positions, packed rows of 512 in micro-batches of 2 cut after their last label;
- swift_whole / swift_rows1: the same with the whole batch of 4 packed rows at once (--micro_batch_rows 0), or one
  row at a time (--micro_batch_rows 1);
- swift_model_loss / swift_peft_lora / swift_mask_sdpa: swift with one part replaced by the baseline's (the
  model's own loss; PEFT's LoRA layers; sdpa with transformers' block-diagonal mask), to see what each part buys.

--ceiling counts, instead of timing, the multiply-adds of steps 2-12 of train_throughput.py's synthetic run (the
batches each job's Trainer draws with seed 42, rebuilt from its own dataloader): per position the linear layers'
forward and input gradient (frozen weights) and LoRA's products; the vocabulary head (forward and input gradient) on
every position for the baseline, on trained positions for swift's chunked loss; attention as the full square of
each row (the baseline's padded, masked rows) or of each packed sequence (the CPU flash kernel computes the whole
square below 512 keys), forward + backward (7 n^2 d per layer). Their ratio per trained token is the speed-up
both jobs would show if they ran their work at the same rate.
"""
import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build_model(fused: bool, packed_attention: bool):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from swift.model.embedded import ensure_embedded_model
    from swift.training.packed_attention import use_packed_sdpa
    from swift.tuners.fused_lora import register_fused_lora
    model = AutoModelForCausalLM.from_pretrained(str(ensure_embedded_model()), dtype=torch.float32)
    config = LoraConfig(r=8, lora_alpha=32, lora_dropout=0.0, target_modules='all-linear', task_type='CAUSAL_LM')
    if fused:
        register_fused_lora(config, model)
    model = get_peft_model(model, config)
    if packed_attention:
        use_packed_sdpa(model)
    model.train()
    return model


def samples_of(rows, tokenizer):
    """The baseline's encoding (benchmarks/train_throughput.py: the tokenizer's chat template)."""
    samples = []
    for row in rows:
        prompt = tokenizer.apply_chat_template(row['messages'][:1], add_generation_prompt=True, tokenize=False)
        full = tokenizer.apply_chat_template(row['messages'], tokenize=False)
        p_ids = tokenizer(prompt, add_special_tokens=False)['input_ids']
        ids = tokenizer(full, add_special_tokens=False)['input_ids'][:512]
        samples.append({'input_ids': ids, 'attention_mask': [1] * len(ids),
                        'labels': [-100] * len(p_ids) + ids[len(p_ids):]})
    return samples


def ceiling() -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer
    from transformers import TrainingArguments

    from benchmarks.train_throughput import synthetic_rows
    from swift.model.embedded import ensure_embedded_model
    from swift.training.collator import PackedCollator
    from swift.training.microbatch import split_rows
    from swift.training.packing import pack_samples
    directory = str(ensure_embedded_model())
    config, tokenizer = AutoConfig.from_pretrained(directory), AutoTokenizer.from_pretrained(directory)
    hidden, inner, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    kv = config.num_key_value_heads * (hidden // config.num_attention_heads)
    linear = layers * (2 * hidden * hidden + 2 * hidden * kv + 3 * hidden * inner)
    lora = layers * 8 * (2 * (2 * hidden) + 2 * (hidden + kv) + 3 * (hidden + inner)) * 4  # forward + 3 in backward
    per_position, head = 2 * linear + lora, 2 * config.vocab_size * hidden

    def attention(n):
        return 7 * n * n * hidden * layers

    samples = samples_of(synthetic_rows(256), tokenizer)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)

    def batches(dataset, collator):  # what Trainer.train draws: the same sampler, seed and collator
        settings = TrainingArguments(output_dir=tempfile.mkdtemp(), max_steps=12, per_device_train_batch_size=4,
                                     report_to=[], seed=42, remove_unused_columns=False)
        trainer = Trainer(model=model, train_dataset=dataset, data_collator=collator, args=settings)
        return list(trainer.get_train_dataloader())[1:12]  # steps 2-12, as the benchmark times them

    def trained(batch):
        return int((batch['labels'][:, 1:] != -100).sum())

    work = {'baseline': [0, 0, 0], 'swift': [0, 0, 0]}  # multiply-adds, positions, trained tokens
    for batch in batches(samples, DataCollatorForSeq2Seq(tokenizer, padding=True)):
        rows, width = batch['input_ids'].shape
        work['baseline'][0] += rows * width * (per_position + head) + rows * attention(width)
        work['baseline'][1] += rows * width
        work['baseline'][2] += trained(batch)
    packs = pack_samples([{k: s[k] for k in ('input_ids', 'labels')} for s in samples], 512)
    for batch in batches(packs, PackedCollator(tokenizer.pad_token_id)):
        for part in split_rows(batch, 2):  # swift's default on CPU: 2 rows, each part cut after its last label
            work['swift'][0] += (part['input_ids'].numel() * per_position + trained(part) * head
                                 + sum(attention(n) for n in part['cu_seq_lens_q'].diff().tolist()))
            work['swift'][1] += part['input_ids'].numel()
            work['swift'][2] += trained(part)
    print(f'per position: linear layers {2 * linear / 1e6:.1f}M multiply-adds (forward + input gradient), LoRA '
          f'{lora / 1e6:.1f}M, vocabulary head {head / 1e6:.1f}M')
    for name, (macs, positions, count) in work.items():
        print(f'  {name:8s} steps 2-12: {positions} positions, {count} trained ({count / positions:.0%}); '
              f'{macs / positions / 1e9:.3f} GMAC per position, {macs / count / 1e9:.3f} GMAC per trained token')
    ratio = (work['baseline'][0] / work['baseline'][2]) / (work['swift'][0] / work['swift'][2])
    print(f'  ceiling at equal speed per multiply-add: {ratio:.2f}x trained tokens/s')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--variants', default='baseline,swift')
    parser.add_argument('--profile', action='store_true')
    parser.add_argument('--rows', type=int, default=256)
    parser.add_argument('--ceiling', action='store_true', help='count the work of the benchmark\'s steps, no timing')
    opts = parser.parse_args()
    if opts.ceiling:
        return ceiling()
    import torch
    from transformers import AutoTokenizer, DataCollatorForSeq2Seq

    from benchmarks.train_throughput import synthetic_rows
    from swift.model.embedded import ensure_embedded_model
    from swift.training.collator import PackedCollator
    from swift.training.loss import ChunkedLossModel
    from swift.training.microbatch import split_rows
    from swift.training.packing import pack_samples
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(ensure_embedded_model()))
    samples = samples_of(synthetic_rows(opts.rows), tokenizer)
    rng = random.Random(42)
    order = list(range(len(samples)))
    rng.shuffle(order)
    padded = DataCollatorForSeq2Seq(tokenizer, padding=True)
    packs = pack_samples([{k: s[k] for k in ('input_ids', 'labels')} for s in samples], 512)
    rng.shuffle(packs)
    packed = PackedCollator(tokenizer.pad_token_id)
    # Step i of every variant: the baseline's 4 shuffled rows; swift's 4 shuffled packs (more rows per step).
    baseline_batches = [padded([samples[j] for j in order[4 * i:4 * i + 4]]) for i in range(opts.steps)]
    packed_batches = [packed(packs[4 * i:4 * i + 4]) for i in range(opts.steps)]

    def trained_count(batch):
        return int((batch['labels'][:, 1:] != -100).sum())

    variants = {}
    names = opts.variants.split(',')
    for name in names:
        fused = name not in ('baseline', 'swift_peft_lora')
        packed_attn = name not in ('baseline', 'swift_mask_sdpa')
        model = build_model(fused, packed_attn)
        chunked = ChunkedLossModel(model) if name not in ('baseline', 'swift_model_loss') else None
        rows = 0 if name in ('baseline', 'swift_whole') else 1 if name == 'swift_rows1' else 2
        variants[name] = (model, chunked, rows)

    def step(name, index):
        model, chunked, rows = variants[name]
        batch = baseline_batches[index] if name == 'baseline' else packed_batches[index]
        items = torch.tensor(trained_count(batch))
        parts = (split_rows(batch, rows) if rows else None) or [batch]
        positions = 0
        for part in parts:
            positions += part['input_ids'].numel()
            if chunked is not None:
                loss = chunked.loss(model, part, items)[0]
            else:
                loss = model(**part, num_items_in_batch=items).loss
            loss.backward()
        model.zero_grad(set_to_none=True)
        return positions, trained_count(batch)

    totals = {name: [0.0, 0, 0] for name in names}
    for index in range(opts.steps):
        for name in names:
            profiler = None
            if opts.profile and index == opts.steps - 1:
                profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
                profiler.__enter__()
            start = time.process_time()
            positions, trained = step(name, index)
            cpu = time.process_time() - start
            if profiler is not None:
                profiler.__exit__(None, None, None)
                print(f'--- {name}, step {index + 1}: {positions} positions, {trained} trained')
                print(profiler.key_averages().table(sort_by='self_cpu_time_total', row_limit=25))
            print(f'step {index + 1} {name:18s} {cpu:6.2f} s CPU, {positions} positions, {trained} trained: '
                  f'{1000 * cpu / positions:.2f} s per 1k positions, {1000 * cpu / trained:.2f} s per 1k trained',
                  flush=True)
            if index > 0 or opts.steps == 1:  # step 1 warms up
                totals[name][0] += cpu
                totals[name][1] += positions
                totals[name][2] += trained
    print(f'steps 2-{opts.steps} (threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.1f}):')
    for name, (cpu, positions, trained) in totals.items():
        print(f'  {name:18s} {cpu:7.2f} s CPU, {1000 * cpu / positions:.2f} s / 1k positions, '
              f'{1000 * cpu / trained:.2f} s / 1k trained tokens')


if __name__ == '__main__':
    main()
