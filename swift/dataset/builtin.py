"""Datasets shipped in the registry. Hub IDs are those ms-swift registers for the same data.

Only swift/self-cognition is stored in the package; the others download from the hub on first use.
"""
from typing import Any, Dict

from .registry import DatasetMeta, register_dataset
from .self_cognition import DATA_FILE, fill_self_cognition


def _alpaca_zh_gpt4(row: Dict[str, Any]) -> Dict[str, Any]:
    # This translation prefixes some inputs with '输入：' ("input:"); the query reads better without it.
    extra_input = row.get('input') or ''
    if extra_input.startswith('输入：'):
        row['input'] = extra_input[len('输入：'):]
    return row


def _dolly(row: Dict[str, Any]) -> Dict[str, Any]:
    query = row['instruction']
    if row.get('context'):
        query = f"Here is some useful information:\n{row['context']}\n{query}"
    return {'query': query, 'response': row['response'], 'category': row.get('category')}


def _blossom_math(row: Dict[str, Any]) -> Dict[str, Any]:
    return {'query': row['query'], 'response': f"{row['output']}\n\nAnswer: {row['answer']}"}


def _sql_create_context(row: Dict[str, Any]) -> Dict[str, Any]:
    return {'instruction': row['question'], 'input': row['context'], 'output': row['answer']}


def _gsm8k(row: Dict[str, Any]) -> Dict[str, Any]:
    # 'solution' keeps the reference answer (reasoning, then '#### <number>') for GRPO reward functions.
    return {'query': row['question'], 'response': row['answer'], 'solution': row['answer']}


def _share_ai_dpo(row: Dict[str, Any]) -> Dict[str, Any]:
    # The dataset pairs an emoji-rich Chinese answer (preferred) with a plain English one.
    return {'query': row['question'], 'response': row['answer_zh'], 'rejected_response': row['answer_en']}


register_dataset(
    DatasetMeta(
        ms_dataset_id='swift/self-cognition',
        hf_dataset_id='modelscope/self-cognition',
        dataset_path=str(DATA_FILE),
        preprocess_func=fill_self_cognition,
        tags=['chat', 'self-cognition'],
        description='identity Q&A (en + zh) with {{NAME}}/{{AUTHOR}} filled from --model_name/--model_author; '
        'shipped with swift'))

register_dataset(
    DatasetMeta(
        ms_dataset_id='AI-ModelScope/alpaca-gpt4-data-en',
        hf_dataset_id='vicgalle/alpaca-gpt4',
        tags=['chat', 'general'],
        description='Alpaca instructions answered by GPT-4 (English, 52k)'))

register_dataset(
    DatasetMeta(
        ms_dataset_id='AI-ModelScope/alpaca-gpt4-data-zh',
        hf_dataset_id='llm-wizard/alpaca-gpt4-data-zh',
        preprocess_func=_alpaca_zh_gpt4,
        tags=['chat', 'general'],
        description='Alpaca instructions answered by GPT-4 (Chinese, 49k)'))

register_dataset(
    DatasetMeta(
        ms_dataset_id='AI-ModelScope/alpaca-cleaned',
        hf_dataset_id='yahma/alpaca-cleaned',
        tags=['chat', 'general', 'quality'],
        description='Stanford Alpaca with known errors fixed (52k)'))

register_dataset(
    DatasetMeta(
        ms_dataset_id='AI-ModelScope/databricks-dolly-15k',
        hf_dataset_id='databricks/databricks-dolly-15k',
        preprocess_func=_dolly,
        tags=['multi-task', 'en', 'quality'],
        description='human-written instruction data from Databricks (15k)'))

register_dataset(
    DatasetMeta(
        ms_dataset_id='AI-ModelScope/blossom-math-v2',
        hf_dataset_id='Azure99/blossom-math-v2',
        preprocess_func=_blossom_math,
        tags=['chat', 'math'],
        description='math word problems with worked answers (10k)'))

register_dataset(
    DatasetMeta(
        ms_dataset_id='AI-ModelScope/sql-create-context',
        hf_dataset_id='b-mc2/sql-create-context',
        preprocess_func=_sql_create_context,
        tags=['chat', 'sql'],
        description='text-to-SQL with CREATE TABLE context'))

register_dataset(
    DatasetMeta(
        ms_dataset_id='modelscope/gsm8k',
        hf_dataset_id='openai/gsm8k',
        subsets=['main'],
        split=['train'],
        preprocess_func=_gsm8k,
        tags=['qa', 'math', 'grpo'],
        description="grade-school math; keeps the reference answer as 'solution' for reward functions"))

register_dataset(
    DatasetMeta(
        ms_dataset_id='AI-ModelScope/hh-rlhf',
        subsets=['harmless-base', 'helpful-base', 'helpful-online', 'helpful-rejection-sampled'],
        split=['train'],
        tags=['rlhf', 'dpo', 'pairwise'],
        description='Anthropic HH-RLHF preference pairs (Human:/Assistant: transcripts)'))

register_dataset(
    DatasetMeta(
        ms_dataset_id='AI-ModelScope/ultrafeedback-binarized-preferences-cleaned-kto',
        tags=['rlhf', 'kto'],
        description='UltraFeedback as prompt/completion/label rows for KTO'))

register_dataset(
    DatasetMeta(
        ms_dataset_id='hjh0119/shareAI-Llama3-DPO-zh-en-emoji',
        preprocess_func=_share_ai_dpo,
        tags=['rlhf', 'dpo', 'pairwise'],
        description='DPO pairs: Chinese answers with emoji (chosen) vs English answers (rejected)'))
