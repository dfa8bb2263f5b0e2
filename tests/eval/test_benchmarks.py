"""Benchmark loaders over ../shared, the prompt formats, and the errors users see. No model needed."""
import importlib.util

import pytest

from swift.eval.prompts import continuation, text_context
from swift.eval.registry import get_benchmark, list_benchmarks
from swift.eval.tasks import load_task, resolve_settings
from swift.utils import SwiftError
from tests.conftest import REPO

ALL = ['arc_c', 'arc_e', 'ceval', 'cmmlu', 'gsm8k', 'hellaswag', 'mm_caption', 'mm_grounding', 'mm_ocr', 'mm_vqa', 'mmlu',
       'nlvr2']


def _task(name, shared_data, limit=3, **args):
    benchmark = get_benchmark(name)
    return load_task(benchmark, resolve_settings(benchmark, {name: args} if args else None, limit), str(shared_data))


def test_registry_lists_every_benchmark_and_aliases():
    assert list_benchmarks() == ALL
    assert get_benchmark('ARC_Challenge').name == 'arc_c'
    assert get_benchmark('c-eval').name == 'ceval'
    with pytest.raises(SwiftError, match='Did you mean: mmlu'):
        get_benchmark('mmul')


@pytest.mark.parametrize('name,subsets,per_subset', [
    ('mmlu', 50, 3), ('cmmlu', 60, 3), ('ceval', 47, 3), ('arc_c', 1, 3), ('arc_e', 1, 3), ('hellaswag', 1, 3),
    ('gsm8k', 1, 3)])
def test_loader_reads_the_shared_rows(shared_data, name, subsets, per_subset):
    task = _task(name, shared_data)
    assert len(task.subsets) == subsets
    assert task.n_docs == subsets * per_subset
    for subset in task.subsets:
        assert len(subset.shots) == task.settings.few_shot_num
        for doc in subset.docs:
            assert doc.query and doc.target
            if get_benchmark(name).kind == 'multiple_choice':
                assert 0 <= doc.gold < len(doc.choices) and all(doc.choices)
            else:
                assert doc.gold.lstrip('-').replace('.', '').replace(',', '').isdigit()
    assert len(task.data_sha256) == 64 and task.source.endswith(get_benchmark(name).local_dir)


def test_data_hash_follows_the_rows(shared_data):
    a = _task('arc_c', shared_data, limit=3)
    b = _task('arc_c', shared_data, limit=3)
    c = _task('arc_c', shared_data, limit=4)
    assert a.data_sha256 == b.data_sha256 != c.data_sha256


def test_mmlu_prompt_is_the_documented_format(shared_data):
    task = _task('mmlu', shared_data, limit=1, few_shot_num=1, subsets=['anatomy'])
    subset = task.subsets[0]
    assert text_context(subset.description, subset.shots, subset.docs[0]) == (
        'The following are multiple choice questions (with answers) about anatomy.\n\n'
        'What is the embryological origin of the hyoid bone?\nA. The first pharyngeal arch\n'
        'B. The first and second pharyngeal arches\nC. The second pharyngeal arch\n'
        'D. The second and third pharyngeal arches\nAnswer: D\n\n'
        'A lesion causing compression of the facial nerve at the stylomastoid foramen will cause ipsilateral\n'
        'A. paralysis of the facial muscles.\nB. paralysis of the facial muscles and loss of taste.\n'
        'C. paralysis of the facial muscles, loss of taste and lacrimation.\n'
        'D. paralysis of the facial muscles, loss of taste, lacrimation and decreased salivation.\nAnswer:')
    assert subset.docs[0].gold == 0
    assert [continuation(c, chat=False) for c in subset.docs[0].choices] == [' A', ' B', ' C', ' D']


def test_other_prompts_are_the_documented_formats(shared_data):
    arc = _task('arc_c', shared_data, limit=1).subsets[0].docs[0]
    assert arc.query == ('Question: An astronomer observes that a planet rotates faster after a meteorite impact. '
                         'Which is the most likely effect of this increase in rotation?\nAnswer:')
    assert arc.choices[arc.gold] == 'Planetary days will become shorter.'
    hella = _task('hellaswag', shared_data, limit=1).subsets[0].docs[0]
    assert hella.query == ('Pole vault: Pole vault is a sport where you run with a pole and stop and swing your body. '
                           'A few women')  # ctx_b capitalized, as the reference harness does
    gsm = _task('gsm8k', shared_data, limit=1, few_shot_num=1).subsets[0]
    assert text_context(gsm.description, gsm.shots, gsm.docs[0]).startswith(
        'Q: There are 15 trees in the grove.') and gsm.docs[0].query.startswith('Q: Janet')
    assert '\n\nQ: Janet' in text_context(gsm.description, gsm.shots, gsm.docs[0])
    assert gsm.docs[0].gold == '18'
    cmmlu = _task('cmmlu', shared_data, limit=1, few_shot_num=0, subsets=['anatomy']).subsets[0]
    assert text_context(cmmlu.description, cmmlu.shots, cmmlu.docs[0]) == (
        '以下是关于解剖学的单项选择题，请直接给出正确答案的选项。\n\n'
        '女性生殖腺是\nA. 卵巢\nB. 前庭大腺\nC. 前庭球\nD. 乳腺\n答案：')


def test_requests_equal_the_reference_harness(shared_data, tmp_path, monkeypatch):
    """lm-eval's own task definitions, pointed at the same rows, build the very same (context, continuation) pairs."""
    monkeypatch.setenv('HF_DATASETS_OFFLINE', '1')
    spec = importlib.util.spec_from_file_location('eval_fidelity', REPO / 'benchmarks' / 'eval_fidelity.py')
    fidelity = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fidelity)
    subjects = {'mmlu': ['high_school_government_and_politics'], 'cmmlu': ['anatomy'], 'ceval': ['law'],
                'arc_e': ['default'], 'hellaswag': ['default'], 'gsm8k': ['default']}
    lm_eval_tasks = fidelity.prepare_lm_eval_tasks(shared_data, tmp_path, subjects)
    for name, task_names in lm_eval_tasks.items():
        shots = {'mmlu': 2, 'cmmlu': 1, 'ceval': 1, 'gsm8k': 8}.get(name, 0)
        args = {'few_shot_num': shots, **({'subsets': subjects[name]} if name in ('mmlu', 'cmmlu', 'ceval') else {})}
        ours = _task(name, shared_data, limit=3, **args).subsets[0]
        theirs = fidelity.lm_eval_task_dict(tmp_path, task_names)[task_names[0]]
        if name != 'gsm8k':
            theirs.set_config('num_fewshot', shots)
        theirs.build_all_requests(limit=3, rank=0, world_size=1)
        assert len(theirs.instances) == sum(max(1, len(d.choices)) for d in ours.docs)
        for instance in theirs.instances:
            doc = ours.docs[instance.doc_id]
            context = text_context(ours.description, ours.shots, doc)
            if name == 'gsm8k':
                assert instance.args[0] == context
                assert set(instance.args[1]['until']) == set(get_benchmark('gsm8k').until)
            else:
                assert tuple(instance.args) == (context, continuation(doc.choices[instance.idx], chat=False)), name


def test_local_csv_cells_reach_the_prompt_verbatim(tmp_path):
    """'0.50', 'None' and 'NA' are strings of the question, not numbers or missing values."""
    for split in ('test', 'dev'):
        (tmp_path / 'mmlu' / split).mkdir(parents=True)
        (tmp_path / 'mmlu' / split / f'toy_{split}.csv').write_text(
            '"What is 1/2, ""exactly""?",0.50,None,NA,1e3,A\n', encoding='utf-8')
    benchmark = get_benchmark('mmlu')
    task = load_task(benchmark, resolve_settings(benchmark, {'mmlu': {'few_shot_num': 1}}, None), str(tmp_path))
    doc = task.subsets[0].docs[0]
    assert doc.query == 'What is 1/2, "exactly"?\nA. 0.50\nB. None\nC. NA\nD. 1e3\nAnswer:'
    assert task.subsets[0].subset == 'toy'


def test_clear_errors_for_missing_data(shared_data, tmp_path):
    with pytest.raises(SwiftError, match="subset 'astronomy' is not in .*mmlu"):
        _task('mmlu', shared_data, subsets=['astronomy'])
    with pytest.raises(SwiftError, match='ARC-Challenge-Train.jsonl not found.*few_shot_num=1'):
        _task('arc_c', shared_data, few_shot_num=1)  # the llm-foundry copy has no train split
    with pytest.raises(SwiftError, match=r'gsm8k/ not found|gsm8k.*not found'):
        load_task(get_benchmark('gsm8k'), resolve_settings(get_benchmark('gsm8k'), None, 1), str(tmp_path))
    with pytest.raises(SwiftError, match="unknown key 'fewshot'.*few_shot_num"):
        resolve_settings(get_benchmark('mmlu'), {'mmlu': {'fewshot': 3}}, None)
    with pytest.raises(SwiftError, match='more than its 8 fixed exemplars'):
        _task('gsm8k', shared_data, few_shot_num=9)


def test_hub_loader_fails_fast_with_one_line(monkeypatch):
    """The real hub loader runs; with no route to the hub it says so in one line (how fast: benchmarks/cli_latency.py
    measures the CLI's failure paths)."""
    monkeypatch.setenv('HF_ENDPOINT', 'http://127.0.0.1:9')  # nothing listens on the discard port
    for var in ('HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'HF_HUB_OFFLINE'):
        monkeypatch.delenv(var, raising=False)
    benchmark = get_benchmark('gsm8k')
    with pytest.raises(SwiftError) as error:
        load_task(benchmark, resolve_settings(benchmark, None, 2), dataset_dir=None)
    message = str(error.value)
    assert 'openai/gsm8k:main/test' in message and '--eval_dataset_dir' in message and '\n' not in message


def test_importing_the_eval_package_loads_no_torch():
    import subprocess
    import sys
    code = ('import sys, swift.eval, swift.eval.checks, swift.arguments, swift.cli.eval; '
            'from swift.eval import list_benchmarks; list_benchmarks(); '
            'print(sorted(m for m in ("torch", "transformers", "datasets") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert out.strip() == '[]'
