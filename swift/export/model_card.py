"""The README.md (model card) that `swift export --push_to_hub` uploads when the directory has none.

    facts = card_facts(args, directory)     # what the run and the export recorded
    text = render_card(facts)               # YAML metadata (huggingface_hub's ModelCardData) + Markdown

Everything in the card is read from files a swift run wrote, never guessed:
- the base model and the training arguments: the args.json of the checkpoint (or of its run directory) that
  was trained, found from --adapters, from the pushed checkpoint, or from the `merged_adapter` / `adapters`
  an exported directory's args.json names;
- evaluation scores: the last evaluation entry (eval_loss, eval_token_acc, benchmark scores such as
  eval_gsm8k_exact_match) of the checkpoint's trainer_state.json, when the run evaluated;
- quantization quality: export_report.json (perplexity before and after, size on disk).
Local paths are shown by file name only, and only hub IDs go into the metadata (the hubs validate it).
"""
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from swift.arguments import ExportArguments
from swift.utils.checkpoint import ARGS_FILE, adapter_paths, read_json_object, read_run_args

HUB_ID = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$')
# The training arguments a reader of the card wants first (the whole set is in the repository's args.json).
TRAINING_KEYS = ('tuner_type', 'train_type', 'rlhf_type', 'task_type', 'lora_rank', 'lora_alpha', 'lora_dropout',
                 'target_modules', 'use_dora', 'use_rslora', 'quant_method', 'quant_bits', 'learning_rate',
                 'lr_scheduler_type', 'num_train_epochs', 'max_steps', 'per_device_train_batch_size',
                 'gradient_accumulation_steps', 'max_length', 'packing', 'torch_dtype', 'template', 'system', 'seed')
TRAINER_STATE = 'trainer_state.json'
EXPORT_REPORT = 'export_report.json'


@dataclass
class CardFacts:
    repo_id: str
    kind: str  # ExportArguments.export_kind
    use_hf: bool
    base_model: Optional[str]
    is_adapter: bool
    training: Dict[str, Any] = field(default_factory=dict)  # the trained run's args.json ({} if none)
    evaluation: Optional[Dict[str, Any]] = None  # the last eval log entry
    export_report: Optional[Dict[str, Any]] = None
    export_record: Dict[str, Any] = field(default_factory=dict)  # the pushed directory's own args.json


def card_facts(args: ExportArguments, directory: Path) -> CardFacts:
    directory = Path(directory)
    record = _json(directory / ARGS_FILE)
    checkpoint = _trained_checkpoint(args, directory, record)
    training = read_run_args(checkpoint) if checkpoint is not None else {}
    base = training.get('model') or record.get('model') or args.model
    kind = _recorded_kind(record, directory) if args.export_kind == 'model' else args.export_kind
    return CardFacts(repo_id=args.hub_model_id, kind=kind, use_hf=args.use_hf,
                     base_model=str(base) if base else None,
                     is_adapter=(directory / 'adapter_config.json').is_file(), training=training,
                     evaluation=_last_evaluation(checkpoint / TRAINER_STATE) if checkpoint is not None else None,
                     export_report=_json(directory / EXPORT_REPORT) or None, export_record=record)


def render_card(facts: CardFacts) -> str:
    from huggingface_hub import ModelCardData
    datasets = [_dataset_id(d) for d in facts.training.get('dataset') or []]
    tags = ['swift'] + [t for t in (_kind_tags(facts)) if t]
    metadata = ModelCardData(
        base_model=facts.base_model if _is_hub_id(facts.base_model) else None,
        datasets=[d for d in datasets if _is_hub_id(d)] or None,
        library_name='peft' if facts.is_adapter else 'gguf' if facts.kind in ('gguf', 'ollama') else 'transformers',
        pipeline_tag='text-generation', tags=tags)
    sections = [f'---\n{metadata.to_yaml()}\n---', f'# {facts.repo_id}', _summary(facts)]
    sections += [_training_section(facts, datasets), _evaluation_section(facts), _quantization_section(facts),
                 _usage_section(facts)]
    return '\n\n'.join(s for s in sections if s) + '\n'


# ---- facts ----
def _json(path: Path) -> Dict[str, Any]:
    return read_json_object(path) if path.is_file() else {}


def _recorded_kind(record: Dict[str, Any], directory: Path) -> str:
    """What an earlier `swift export` wrote into a directory pushed as --model, from its args.json."""
    if record.get('quant_method'):
        return f'{record["quant_method"]}-int{record.get("quant_bits")}'
    if record.get('gguf_file'):
        return 'ollama' if (directory / 'Modelfile').is_file() else 'gguf'
    return 'merged' if record.get('merged_adapter') else 'model'


def _trained_checkpoint(args: ExportArguments, directory: Path, record: Dict[str, Any]) -> Optional[Path]:
    """The checkpoint whose training the card describes: --adapters, the pushed checkpoint itself, or the
    adapter an exported directory was merged from (when it is still on this machine)."""
    candidates = adapter_paths(args.adapters)[:1]
    if args.push_only and not args.adapters and (record.get('learning_rate') is not None
                                                 or (directory / TRAINER_STATE).is_file()):
        candidates.append(str(directory))  # a training checkpoint pushed as --model
    merged = record.get('merged_adapter') or (record.get('adapters') or [None])[0]
    if merged:
        candidates.append(adapter_paths([merged])[0])
    for candidate in candidates:
        if Path(candidate).is_dir():
            return Path(candidate)
    return None


def _last_evaluation(trainer_state: Path) -> Optional[Dict[str, Any]]:
    history = _json(trainer_state).get('log_history') or []
    evaluations = [entry for entry in history if any(k.startswith('eval_') for k in entry)]
    return evaluations[-1] if evaluations else None


def _dataset_id(spec: str) -> str:
    """'hf::org/data:subset#500' → 'org/data'; a local file → its name."""
    spec = str(spec).split('::', 1)[-1].split('#', 1)[0]
    if Path(spec).exists() or '/' not in spec or spec.count('/') > 1 or spec.startswith(('.', '~')):
        return Path(spec).name
    return spec.split(':', 1)[0]


def _is_hub_id(value: Optional[str]) -> bool:
    return bool(value) and bool(HUB_ID.match(value)) and not Path(value).exists()


# ---- sections ----
def _kind_tags(facts: CardFacts) -> List[str]:
    record = facts.export_record
    tags = [facts.training.get('tuner_type') or facts.training.get('train_type')] if facts.training else []
    if record.get('quant_method'):
        tags += [record['quant_method'], f'{record["quant_bits"]}-bit']
    if facts.kind in ('gguf', 'ollama'):
        tags += ['gguf', record.get('gguf_quant')] + (['ollama'] if facts.kind == 'ollama' else [])
    return tags


def _summary(facts: CardFacts) -> str:
    base = _shown(facts.base_model) if facts.base_model else 'an unrecorded base model'
    what = {'merged': f'{base} with a fine-tuned adapter merged into its weights',
            'gguf': f'{base} as a GGUF file ({facts.export_record.get("gguf_quant")}) for llama.cpp and LM Studio',
            'ollama': f'{base} as a GGUF file and an Ollama Modelfile',
            'checkpoint': f'{"an adapter" if facts.is_adapter else "a full"} checkpoint fine-tuned from {base}',
            'model': f'a model derived from {base}'}.get(facts.kind)
    if what is None:  # <method>-int<bits>
        what = f'{base} quantized with {facts.export_record.get("quant_method")} to ' \
               f'{facts.export_record.get("quant_bits")} bits'
    return f'This repository holds {what}. It was made with swift ' \
           '(`swift export`); `args.json` records how.'


def _training_section(facts: CardFacts, datasets: List[str]) -> str:
    if not facts.training:
        return ''
    lines = ['## Training', '']
    if datasets:
        lines += ['Data: ' + ', '.join(f'`{d}`' for d in datasets), '']
    rows = [(k, facts.training[k]) for k in TRAINING_KEYS if facts.training.get(k) not in (None, '', [])]
    if rows:
        lines += ['| argument | value |', '|---|---|'] + [f'| {k} | {_cell(v)} |' for k, v in rows]
    return '\n'.join(lines)


def _evaluation_section(facts: CardFacts) -> str:
    entry = facts.evaluation
    if not entry:
        return ''
    metrics = [(k, v) for k, v in entry.items() if k.startswith('eval_') and isinstance(v, (int, float))
               and not k.endswith(('_runtime', '_samples_per_second', '_steps_per_second'))]
    lines = ['## Evaluation', '', f'The run\'s last evaluation (step {entry.get("step")}, from trainer_state.json):',
             '', '| metric | value |', '|---|---|']
    return '\n'.join(lines + [f'| {k[len("eval_"):]} | {v:.4g} |' for k, v in metrics])


def _quantization_section(facts: CardFacts) -> str:
    report = facts.export_report
    if not report:
        return ''
    before, after = report.get('perplexity_before'), report.get('perplexity_after')
    change = f' ({100 * (after / before - 1):+.1f}%)' if before and after else ''
    return '\n'.join([
        '## Quantization', '', f'{report.get("method")} {report.get("bits")}-bit: perplexity {before:.3f} → '
        f'{after:.3f}{change} on {report.get("held_out_rows")} held-out rows; '
        f'{report.get("size_bytes", 0) / 2**20:.1f} MiB on disk (export_report.json).'])


def _usage_section(facts: CardFacts) -> str:
    repo, hub = facts.repo_id, ' --use_hf true' if facts.use_hf else ''
    if facts.kind in ('gguf', 'ollama'):
        name = facts.export_record.get('gguf_file', '<file>.gguf')
        body = f'Download `{name}`, then `llama-cli -m {name}`'
        body += ', or `ollama create my-model -f Modelfile` in the downloaded folder.' if facts.kind == 'ollama' \
            else '.'
        return f'## Use\n\n{body}'
    if facts.is_adapter:
        base = facts.base_model if _is_hub_id(facts.base_model) else '<base model>'
        code = (f"from peft import PeftModel\nfrom transformers import AutoModelForCausalLM\n"
                f"model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained('{base}'), '{repo}')")
        return f'## Use\n\n```python\n{code}\n```'
    code = (f"from transformers import AutoModelForCausalLM, AutoTokenizer\n"
            f"model = AutoModelForCausalLM.from_pretrained('{repo}')\n"
            f"tokenizer = AutoTokenizer.from_pretrained('{repo}')")
    return f'## Use\n\n```python\n{code}\n```\n\nor `swift infer --model {repo}{hub}`.'


def _shown(model: str) -> str:
    return f'`{model}`' if _is_hub_id(model) else f'`{Path(model).name}` (a local model)'


def _cell(value: Any) -> str:
    text = ', '.join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return text.replace('|', '\\|').replace('\n', ' ')
