"""ms-swift flags and environment variables swift does not support (yet): each with the reason and what to use.

The parser consults this table for every unknown key, so `swift sft --deepspeed zero2` answers
"--deepspeed is not supported yet (distributed training: see docs/distributed.md)" instead of guessing a
similar-looking name. When a feature lands, delete its names here (tests/arguments/test_unsupported.py checks
that no name in the table is also a real option of some command).

The lists follow ms-swift's docs/source_en/Instruction/Command-line-parameters.md; docs/compat.md explains
the differences that remain. Environment variables are checked when a command starts (cli/stage.py): one
that ms-swift reads and swift does not is refused with its reason, never ignored.
"""
import os
from typing import Dict, List, Mapping, Optional, Tuple

# ---- reasons (each points at the docs) ---------------------------------------------------------------------
DISTRIBUTED = 'distributed training: see docs/distributed.md'
MULTIMODAL = 'multimodal models: see docs/multimodal.md'
TASKS = 'this task-type option: docs/training.md lists the options of --task_type'
AGENT = 'this agent/thinking option: docs/deploy.md and docs/training.md list the tool-calling options'
GKD = 'this GKD option: docs/rlhf.md lists the options of --rlhf_type gkd'
GRPO = 'this GRPO / rollout option: docs/rlhf.md lists the GRPO options swift has'
PPO = 'this PPO option: docs/rlhf.md lists the PPO options swift has'
RLHF = 'this RLHF option: docs/rlhf.md lists the options of each --rlhf_type'
SAMPLE = 'this swift sample option: docs/sample.md lists the options swift sample has'
VLLM = 'vLLM options as flags: see docs/infer.md'
SGLANG = 'SGLang options as flags: see docs/infer.md'
LMDEPLOY = 'LMDeploy options as flags: see docs/infer.md'
TUNER = 'this tuner: docs/tuners.md lists the tuners swift has'
EXPORT = 'this export option (Megatron conversion): see docs/export.md'
MODEL_LOADING = 'this model-loading option: see docs/compat.md'
DATA = 'this data option: docs/datasets.md lists the data options swift has'
TRAINING = 'this training option: docs/training.md lists the training options swift has'
INFER = 'this inference option: docs/infer.md lists the options swift has'
SWANLAB = 'SwanLab settings as flags: see docs/compat.md'

ENGINE_KWARGS = "--engine_kwargs '{\"<option without the prefix>\": value}' passes options to the engine"
TUNER_ALTERNATIVE = '--tuner_type lora (or any PEFT tuner in docs/tuners.md, or a plugin: register_tuner)'

# ---- flags: reason, alternative (or None) and the names ----------------------------------------------------
_GROUPS: List[Tuple[str, Optional[str], str]] = [
    (DISTRIBUTED, None,
     'zero_hpz_partition_size deepspeed_autotp_size '
     'save_on_each_node average_tokens_across_devices '
     'use_ray ray_exp_name device_groups teacher_deepspeed'),
    (MULTIMODAL, None,
     'max_pixels vit_gradient_checkpointing norm_bbox '
     'vllm_limit_mm_per_prompt vllm_mm_processor_cache_gb is_multimodal'),
    (TASKS, None, 'mrl_dims reranker_use_activation'),
    (AGENT, None, 'preserve_thinking add_non_thinking_prefix '
                  'disable_ignore_empty_think is_binary_loss_scale'),
    (GKD, None,
     'gkd_logits_topk teacher_model_type teacher_model_revision '
     'teacher_model_server teacher_tag_key offload_teacher_model teacher_kl_coef'),
    (GRPO, None,
     'steps_per_generation generation_batch_size num_generations_eval ds3_gather_for_generation '
     'reward_model_plugin fipo_decay_rate fipo_clip_range fipo_clip_high_only fipo_safety_threshold '
     'vllm_server_base_url vllm_server_pass_dataset '
     'vllm_server_group_port async_generate enable_flattened_weight_sync vllm_enable_lora '
     'completion_length_limit_scope tau_pos tau_neg '
     'delta importance_sampling_level advantage_estimator kl_in_reward '
     'advantage_reweight rlsd_lambda rlsd_reweight_clip_range rlsd_lambda_warmup_steps rlsd_lambda_decay_steps '
     'rlsd_negative_only sdar_loss_coef sdar_gate_beta sync_ref_model ref_model_mixup_alpha move_model_batches '
     'multi_turn_scheduler max_turns gym_env use_gym_env top_entropy_quantile log_entropy '
     'rollout_importance_sampling_mode rollout_importance_sampling_threshold log_rollout_offpolicy_metrics '
     'off_policy_sequence_mask_delta soft_max_length soft_cache_length'),
    (PPO, None, 'num_ppo_epochs whiten_rewards cliprange num_mini_batches local_rollout_forward_batch_size '
                'num_sample_generations'),
    (RLHF, None, 'ref_model_type ref_model_revision ld_alpha discopop_tau reward_model_type '
                 'reward_model_revision'),
    (SAMPLE, None,
     'prm_model sampler_engine override_exist_file num_sampling_batch_size '
     'num_sampling_batches data_range prm_threshold easy_query_threshold '
     'cache_files'),
    (VLLM, ENGINE_KWARGS.replace('the prefix', 'vllm_') + ' with --infer_backend vllm',
     'vllm_tensor_parallel_size vllm_pipeline_parallel_size vllm_data_parallel_size vllm_enable_expert_parallel '
     'vllm_max_num_seqs vllm_disable_custom_all_reduce vllm_enforce_eager vllm_speculative_config '
     'vllm_disable_cascade_attn vllm_max_lora_rank vllm_quantization vllm_enable_prefix_caching '
     'vllm_use_async_engine vllm_reasoning_parser vllm_engine_kwargs'),
    (SGLANG, ENGINE_KWARGS.replace('the prefix', 'sglang_') + ' with --infer_backend sglang',
     'sglang_tp_size sglang_pp_size sglang_dp_size sglang_ep_size sglang_enable_ep_moe sglang_mem_fraction_static '
     'sglang_context_length sglang_disable_cuda_graph sglang_quantization sglang_kv_cache_dtype '
     'sglang_enable_dp_attention sglang_disable_custom_all_reduce sglang_speculative_algorithm '
     'sglang_speculative_num_steps sglang_speculative_eagle_topk sglang_speculative_num_draft_tokens'),
    (LMDEPLOY, ENGINE_KWARGS.replace('the prefix', 'lmdeploy_') + ' with --infer_backend lmdeploy',
     'lmdeploy_tp lmdeploy_session_len lmdeploy_cache_max_entry_count lmdeploy_quant_policy '
     'lmdeploy_vision_batch_size'),
    (TUNER, TUNER_ALTERNATIVE,
     'tuner_backend target_parameters lora_dtype lora_ga_batch_size lora_ga_iters lora_ga_max_length '
     'lora_ga_direction lora_ga_scale lora_ga_stable_gamma fourier_n_frequency fourier_scaling use_galore '
     'galore_target_modules galore_rank galore_update_proj_gap galore_scale galore_proj_type '
     'galore_optim_per_parameter galore_with_embedding galore_quantization galore_proj_quant galore_proj_bits '
     'galore_proj_group_size galore_cos_threshold galore_gamma_proj galore_queue_size lisa_activated_layers '
     'lisa_step_interval reft_layers reft_rank reft_intervention_type reft_args freeze_parameters_regex '
     'trainable_parameters_regex'),
    (EXPORT, 'swift export --merge_lora, --quant_method bnb|gptq|awq|fp8|hqq, --to_gguf or --to_ollama',
     'to_mcore to_hf mcore_model mcore_adapter thread_count '
     'offload_bridge test_convert_precision test_convert_dtype exist_ok'),
    (MODEL_LOADING, None,
     'experts_impl new_special_tokens rope_scaling max_model_len '
     'local_repo_path init_strategy enable_npu_model_patch load_args ignore_args_error'),
    (DATA, None,
     'interleave_prob '
     'stopping_strategy shuffle_buffer_size download_mode remove_unused_columns disable_auto_column_mapping '
     'custom_dataset_info packing_length packing_num_proc '
     'packing_strategy padding_side template_backend response_prefix'),
    (TRAINING, None,
     'enable_dft_loss enable_channel_loss check_model use_logits_to_keep '
     'optimizer eval_metric callbacks early_stop_interval eval_use_evalscope eval_generation_config use_flash_ckpt '
     'safe_serialization'),
    (INFER, None,
     'structured_outputs_regex write_batch_size metric '
     'verbose max_logprobs extra_eval_args local_dataset'),
    (SWANLAB, '--report_to swanlab, with swanlab\'s own environment variables (SWANLAB_PROJECT, SWANLAB_API_KEY, ...)',
     'swanlab_token swanlab_project swanlab_workspace swanlab_exp_name swanlab_notification_method '
     'swanlab_webhook_url swanlab_secret swanlab_mode'),
]

UNSUPPORTED_FLAGS: Dict[str, Tuple[str, Optional[str]]] = {
    name: (reason, alternative) for reason, alternative, names in _GROUPS for name in names.split()}

# ---- environment variables ms-swift reads: reason, alternative, the commands that refuse it (None: all) ------
_MM_ENV = ('IMAGE_FACTOR MAX_RATIO '
           'FRAME_FACTOR QWENVL_BBOX_FORMAT SPATIAL_MERGE_SIZE '
           'IMAGE_MIN_TOKEN_NUM VIDEO_MIN_TOKEN_NUM VIDEO_MAX_TOKEN_NUM USE_AUDIO_IN_VIDEO '
           'ENABLE_AUDIO_OUTPUT MAX_NUM INPUT_SIZE VIDEO_MAX_NUM VIDEO_SEGMENTS VIDEO_MAX_SLICE_NUMS '
           'MAX_NUM_FRAMES DOWNSAMPLE_MODE STACK_FRAMES INIT_TTS INIT_AUDIO MAX_PARTITION MIX_PIXELS NUM_FRAMES HD_NUM '
           'NUM_CROPS N_MELS ROOT_IMAGE_DIR SWIFT_AUDIO_LOAD_BACKEND')
# (the media size controls swift uses, MAX_PIXELS, MIN_PIXELS, IMAGE_MAX_TOKEN_NUM, VIDEO_MAX_PIXELS, FPS, FPS_MAX_FRAMES
# and SAMPLING_RATE, and Qwen-VL's VIDEO_MIN_PIXELS, VIDEO_TOTAL_PIXELS, FPS_MIN_FRAMES, are read by
# swift/template/media_options.py, which refuses one a model's processor cannot use; so is MiniCPM-V's MAX_SLICE_NUMS)
UNSUPPORTED_ENV: Dict[str, Tuple[str, Optional[str], Optional[Tuple[str, ...]]]] = {
    **{name: (MULTIMODAL, None, None) for name in _MM_ENV.split()},
    # swift sft / pt / rlhf and swift infer (data-parallel batch inference) launch torchrun with it (cli/launch.py)
    'NPROC_PER_NODE': ('several processes for this command: see docs/distributed.md',
                       'unset it; swift deploy / eval / export run in one process '
                       '(swift infer --val_dataset splits its rows across NPROC_PER_NODE processes)',
                       ('deploy', 'eval', 'export')),
    'REASONING_EFFORT': (AGENT, "a row's or request's own system prompt", None),
    'SWIFT_UPDATE_WEIGHTS_BUCKET_SIZE': (GRPO, None, None),
    'SWIFT_SINGLE_DEVICE_MODE': (DISTRIBUTED, None, None),
    'SWIFT_TIMEOUT': ('a global timeout', 'swift deploy --request_timeout', None),
    'SWIFT_DEBUG': ('a debug switch', 'SWIFT_LOG_LEVEL=DEBUG', None),
    'LOG_LEVEL': ('this name for the log level', 'SWIFT_LOG_LEVEL (DEBUG, INFO, WARNING, ERROR)', None),
}


# ms-swift commands swift does not have: the CLI answers with the reason instead of "unknown command"
UNSUPPORTED_COMMANDS: Dict[str, Tuple[str, Optional[str]]] = {
    'merge-lora': ('this command name', 'swift export --adapters checkpoint-N --merge_lora true'),
}
ENGINE_PREFIXES = {'vllm_': VLLM, 'sglang_': SGLANG, 'lmdeploy_': LMDEPLOY}


def _message(what: str, reason: str, alternative: Optional[str]) -> str:
    return f'{what} is not supported yet ({reason})' + (f'; instead: {alternative}' if alternative else '')


def unsupported_flag_message(key: str, takes_engine_kwargs: bool = False) -> Optional[str]:
    """The refusal of an ms-swift flag swift does not have, or None when the table does not list it. A command
    with --engine_kwargs refuses any vllm_* / sglang_* / lmdeploy_* flag by pointing at it."""
    row = UNSUPPORTED_FLAGS.get(key)
    if row is None and takes_engine_kwargs:
        prefix = next((p for p in ENGINE_PREFIXES if key.startswith(p)), None)
        if prefix:
            row = (ENGINE_PREFIXES[prefix], ENGINE_KWARGS.replace('the prefix', prefix) + f' with --infer_backend '
                   f'{prefix[:-1]}')
    return _message(f'--{key}', *row) if row else None


def unsupported_command_message(command: str) -> Optional[str]:
    row = UNSUPPORTED_COMMANDS.get(command)
    return _message(f'swift {command}', *row) if row else None


def unsupported_env_messages(command: str, env: Optional[Mapping[str, str]] = None) -> List[str]:
    """One refusal per ms-swift environment variable set (non-empty) that swift would otherwise ignore."""
    env = os.environ if env is None else env
    messages = []
    for name, (reason, alternative, commands) in UNSUPPORTED_ENV.items():
        if env.get(name) and (commands is None or command in commands):
            where = f' with swift {command}' if commands is not None else ''
            messages.append(_message(f'the environment variable {name}{where}', reason, alternative))
    return messages
