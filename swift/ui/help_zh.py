"""Chinese help of every field the web UI shows (the arguments classes' English help → Chinese).

Keyed by the English text, so a changed or new help has no translation and tests/ui/test_i18n.py names it:
add its line here. Flag names, values and JSON stay as the CLI writes them.
"""
from typing import Dict

HELP_ZH: Dict[str, str] = {
    # the fields at the top of each form and the chat's generation settings
    'registry ID or alias, hub ID, or local directory': '注册名或别名、hub ID，或本地目录',
    '[hf::|ms::]ID_OR_PATH[:subset][#N], several are concatenated': '[hf::|ms::]ID或路径[:子集][#N]，多个数据集依次拼接',
    "full | freeze | lora | adalora | vera | boft | ia3 | llamapro, or a plugin's tuner":
        'full | freeze | lora | adalora | vera | boft | ia3 | llamapro，或插件提供的微调方式',
    'passes over the training rows': '训练数据遍历的轮数',
    'stop after this many optimizer steps (-1: the epochs decide)': '优化器走完这么多步后停止（-1：由轮数决定）',
    'default 1e-4 (LoRA), 1e-5 (full)': '默认 1e-4（LoRA）、1e-5（全参数）',
    'LoRA rank r': 'LoRA 的秩 r',
    'rows per device per micro-batch': '每个设备每个微批次的样本数',
    'steps between two log lines': '两次日志之间的步数',
    'steps between two checkpoints': '两次保存检查点之间的步数',
    'default output/<model>/vN-<timestamp>': '默认 output/<模型>/vN-<时间戳>',
    'name for swift/self-cognition': 'swift/self-cognition（自我认知）中模型的名字',
    'author for swift/self-cognition': 'swift/self-cognition（自我认知）中模型的作者',
    'dpo | orpo | simpo | cpo | kto | rm | ppo | grpo | gkd':
        '对齐算法：dpo | orpo | simpo | cpo | kto | rm | ppo | grpo | gkd',
    'KL coefficient: how far the policy may move from the reference': 'KL 系数：策略模型可以偏离参考模型多远',
    "accuracy format length repetition, or a plugin's": '奖励函数：accuracy format length repetition，或插件提供的',
    'LoRA/adapter checkpoint directories (name=path to name them); a swift checkpoint alone also names its base model':
        'LoRA/适配器检查点目录（name=路径 可为其命名）；单独的 swift 检查点也会指明其基座模型',
    'address to listen on (0.0.0.0: every interface)': '监听地址（0.0.0.0：所有网卡）',
    'port to listen on (0: any free port, printed at start)': '监听端口（0：任一空闲端口，启动时打印）',
    "the model name clients send (default: the model's last path component)": '客户端请求时使用的模型名（默认：模型路径的最后一段）',
    'require "Authorization: Bearer <key>" on /v1 routes': '要求 /v1 接口带上 "Authorization: Bearer <key>"',
    'transformers (alias pt) | vllm | sglang | lmdeploy': '推理后端：transformers（别名 pt）| vllm | sglang | lmdeploy',
    'benchmarks: mmlu ceval cmmlu gsm8k arc_c arc_e hellaswag nlvr2 mm_vqa ... (VLMEvalKit: its names)':
        '评测集：mmlu ceval cmmlu gsm8k arc_c arc_e hellaswag nlvr2 mm_vqa ……（VLMEvalKit：用它自己的名称）',
    'rows per subset (the first ones); default all': '每个子集评测的条数（取前若干条）；默认全部',
    'local copies in their original layout (<dir>/mmlu, <dir>/gsm8k, ...)': '评测集的本地副本，保持原始目录结构（<目录>/mmlu、<目录>/gsm8k 等）',
    'an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1': '兼容 OpenAI 的服务地址，例如 http://127.0.0.1:8000/v1',
    'results go to <dir>/<model name>': '结果写入 <目录>/<模型名>',
    'merge the adapter into the base weights': '把适配器合并进基座模型的权重',
    'where to write (default: <adapter dir or model name>-<kind>); must not exist': '输出目录（默认：<适配器目录或模型名>-<类型>）；不能已存在',
    'max tokens to generate (none: up to the context length)': '最多生成的 token 数（none：直到上下文长度）',
    '0 means greedy': '0 表示贪心解码',
    'nucleus sampling: keep the smallest set of tokens whose probabilities add up to this':
        '核采样：保留概率之和达到该值的最小 token 集合',
    'sample among the k most likely tokens; 0 disables top-k': '在概率最高的 k 个 token 中采样；0 表示不用 top-k',
    '> 1 discourages repeating tokens': '大于 1 时抑制重复的 token',
    'drop tokens less likely than min_p times the most likely token (after temperature); 0 disables it':
        '丢弃概率低于最可能 token 概率 min_p 倍的 token（温度之后）；0 表示不用',
    # the advanced sections of swift sft (and of the forms sharing its fields)
    'Python files whose register_* calls add models, templates, ...': 'Python 文件，其中的 register_* 调用会添加模型、模板等',
    'random seed': '随机种子',
    'registry model type (when auto-detection fails)': '注册表中的模型类型（自动识别失败时指定）',
    'hub revision (branch, tag or commit)': 'hub 上的版本（分支、标签或提交）',
    'auto | bfloat16 | float16 | float32': 'auto | bfloat16 | float16 | float32（模型权重的数据类型）',
    'sdpa | eager | flash_attn (flash_attention_2)': '注意力实现：sdpa | eager | flash_attn（flash_attention_2）',
    'download from Hugging Face instead of ModelScope (default: $USE_HF)':
        '从 Hugging Face 而非 ModelScope 下载（默认：$USE_HF）',
    'never contact a hub; use local copies only': '从不连接 hub；只用本地副本',
    'run the Python code a model repository ships (its auto_map), as the models that transformers does not support natively need; only for repositories you trust':
        '运行模型仓库自带的 Python 代码（其 auto_map），transformers 未原生支持的模型需要它；只用于你信任的仓库',
    "media size controls of a multimodal model, as JSON (ms-swift's): max_pixels, min_pixels, image_max_token_num, video_max_pixels, fps, fps_max_frames, sampling_rate (Qwen-VL also video_min_pixels, video_total_pixels, fps_min_frames); the same as the environment variables MAX_PIXELS, ... (this wins); a key the model's processor lacks is an error":
        '多模态模型的媒体尺寸控制，JSON 格式（与 ms-swift 相同）：max_pixels、min_pixels、image_max_token_num、video_max_pixels、fps、fps_max_frames、sampling_rate（Qwen-VL 另有 video_min_pixels、video_total_pixels、fps_min_frames）；与环境变量 MAX_PIXELS 等作用相同（以此为准）；模型的 processor 没有的键会报错',
    "template name (default: the model's own)": '模板名（默认：模型自己的模板）',
    "system prompt, or a .txt file holding it (default: the template's); \\n in the text is a newline":
        '系统提示词，或保存它的 .txt 文件（默认：模板的）；文本中的 \\n 表示换行',
    'max tokens per sample': '每个样本的最大 token 数',
    "how tools, tool calls and tool results are written: hermes | react_en | react_zh | qwen_en | qwen_zh | glm4 | llama3 | mistral (default: the template's own tool format)":
        '工具、工具调用和工具结果的写法：hermes | react_en | react_zh | qwen_en | qwen_zh | glm4 | llama3 | mistral（默认：模板自己的工具格式）',
    "thinking models: true/false is passed to the template (default: the template's default)":
        '思考模型：true/false 传给模板（默认：模板的默认值）',
    'bnb: bitsandbytes | hqq: HQQ (half-quadratic, no calibration; groups of 64 weights)':
        '量化方法 bnb：bitsandbytes | hqq：HQQ（半二次量化，无需校准数据；每 64 个权重一组）',
    'bnb: 4 or 8; hqq: 2, 3, 4 or 8': 'bnb：4 或 8；hqq：2、3、4 或 8',
    "hqq: 1 groups consecutive inputs of one output row (hqq's default), 0 one input across rows":
        'hqq：1 按同一输出行的连续输入分组（hqq 的默认值），0 按同一输入跨行分组',
    'dtype of the 4-bit matmuls (default: --torch_dtype)': '4 比特矩阵乘法的数据类型（默认：--torch_dtype）',
    'nf4 | fp4': '4 比特量化的类型：nf4 | fp4',
    'also quantise the scales': '同时量化缩放因子',
    'storage dtype of packed 4-bit weights (e.g. bfloat16 for FSDP)': '打包后的 4 比特权重的存储类型（例如 FSDP 用 bfloat16）',
    'continue training these saved adapters (checkpoint directories) instead of new ones':
        '在这些已保存的适配器（检查点目录）上继续训练，而不是新建',
    'module names to adapt; all-linear = every nn.Linear except lm_head; all-embedding = the embedding layers':
        '要适配的模块名；all-linear = 除 lm_head 外的所有 nn.Linear；all-embedding = 嵌入层',
    'a regex over full module names; replaces --target_modules': '匹配完整模块名的正则表达式；替代 --target_modules',
    'modules trained in full and saved beside the adapter': '全参数训练并与适配器一起保存的模块',
    'LoRA: token ids whose embedding rows (and tied output head rows) train beside the adapter, e.g. added special '
    'tokens, which LoRA alone cannot learn':
        'LoRA：与适配器一起训练其嵌入行（及绑定的输出头行）的 token id，例如新增的特殊 token（仅靠 LoRA 学不会）',
    'LoRA scaling numerator (scale = alpha / r)': 'LoRA 缩放的分子（scale = alpha / r）',
    'dropout on the LoRA input': 'LoRA 输入上的 dropout',
    'none | all | lora_only: which biases train': 'none | all | lora_only：训练哪些偏置',
    'DoRA: learn a magnitude vector beside LoRA': 'DoRA：在 LoRA 之外学习一个幅度向量',
    'rank-stabilised LoRA: scale = alpha / sqrt(r)': '秩稳定的 LoRA（rsLoRA）：scale = alpha / sqrt(r)',
    'true | false | gaussian | pissa | pissa_niter_[n] | olora | orthogonal | loftq (loftq needs --quant_bits 4)':
        'true | false | gaussian | pissa | pissa_niter_[n] | olora | orthogonal | loftq（loftq 需要 --quant_bits 4）',
    'LoRA+: the learning rate of lora_B is learning_rate times this (e.g. 16)':
        'LoRA+：lora_B 的学习率为 learning_rate 乘以该值（例如 16）',
    'parameter name prefixes to freeze': '要冻结的参数名前缀',
    'freeze this fraction of all parameters, counted from the bottom (0..1)': '从底层开始冻结的参数比例（0..1）',
    'parameter name prefixes trained even when frozen above': '即使在上面被冻结也仍训练的参数名前缀',
    'multimodal: leave the language model untrained': '多模态：不训练语言模型',
    'multimodal: leave the vision tower untrained': '多模态：不训练视觉编码器',
    'multimodal: leave the aligner (projector) untrained; false trains it in full, also beside LoRA':
        '多模态：不训练对齐层（projector）；false 时全参数训练它，使用 LoRA 时也是',
    'multimodal: learning rate of the vision tower': '多模态：视觉编码器的学习率',
    'multimodal: learning rate of the aligner': '多模态：对齐层的学习率',
    'AdaLoRA: average rank after budgeting': 'AdaLoRA：预算分配后的平均秩',
    'AdaLoRA: initial rank of every matrix': 'AdaLoRA：每个矩阵的初始秩',
    'AdaLoRA: warm-up steps before budgeting': 'AdaLoRA：开始分配预算前的预热步数',
    'AdaLoRA: final steps with the rank fixed': 'AdaLoRA：最后固定秩的步数',
    'AdaLoRA: steps between two budget allocations': 'AdaLoRA：两次预算分配之间的步数',
    'AdaLoRA: EMA factor of the sensitivity': 'AdaLoRA：敏感度的 EMA 系数',
    'AdaLoRA: EMA factor of the uncertainty': 'AdaLoRA：不确定性的 EMA 系数',
    'AdaLoRA: orthogonality penalty': 'AdaLoRA：正交惩罚系数',
    'AdaLoRA: total optimizer steps (default: --max_steps)': 'AdaLoRA：优化器总步数（默认：--max_steps）',
    'VeRA: rank of the shared random projections': 'VeRA：共享随机投影的秩',
    'VeRA: seed of the shared projections': 'VeRA：共享投影的随机种子',
    'VeRA: dropout': 'VeRA：dropout 比例',
    'VeRA: initial value of the d vector': 'VeRA：d 向量的初始值',
    'BOFT: block size (or set --boft_block_num)': 'BOFT：块大小（或设置 --boft_block_num）',
    'BOFT: number of blocks (0: from block size)': 'BOFT：块的数量（0：由块大小决定）',
    'BOFT: butterfly factors (1 = plain OFT)': 'BOFT：蝶形因子数（1 = 普通 OFT）',
    'BOFT: multiplicative dropout': 'BOFT：乘性 dropout',
    "IA3: target modules that are feed-forward (scaled on the input side); default: PEFT's choice for the model type":
        'IA3：属于前馈层的目标模块（在输入侧缩放）；默认：PEFT 对该模型类型的选择',
    'LLaMA-Pro: decoder blocks to add': 'LLaMA-Pro：要添加的解码器块数',
    'LLaMA-Pro: groups the layers are split into (default: new blocks)': 'LLaMA-Pro：层被划分成的组数（默认：新块数）',
    'validation rows, in the same forms': '验证数据，格式与 --dataset 相同',
    'fraction of --dataset held out for eval': '从 --dataset 中留作验证的比例',
    'JSON map of column renames': '列重命名的 JSON 映射',
    'stop at the first bad row instead of dropping it': '遇到第一条坏数据就停止，而不是丢弃它',
    'delete | left | right | error | split': 'delete | left | right | error | split（超长样本的处理方式）',
    'which answers are trained: default | last_round | all, optionally + a weighting: react | hermes | ignore_empty_think (e.g. last_round+hermes)':
        '训练哪些回答：default | last_round | all，可再加一种加权：react | hermes | ignore_empty_think（例如 last_round+hermes）',
    "seed of the data's sampling, split and shuffle (default: --seed)": '数据采样、划分和打乱的随机种子（默认：--seed）',
    'training rows in a seeded random order; false: file order, and #N takes the first N rows':
        '训练数据按带种子的随机顺序；false：按文件顺序，#N 取前 N 条',
    'validation rows in a seeded random order': '验证数据按带种子的随机顺序',
    'processes that encode (tokenize) the rows': '编码（分词）数据的进程数',
    'reuse the encoded rows of an earlier run with the same data, tokenizer, template and settings ($SWIFT_CACHE/encoded)':
        '复用之前相同数据、分词器、模板和设置的运行已编码的数据（$SWIFT_CACHE/encoded）',
    "folder where relative image/video/audio paths are looked up first (else the dataset file's folder)":
        '相对的图片/视频/音频路径优先在此目录查找（否则在数据集文件所在目录）',
    "false: plain text with no chat format (template 'raw'; swift pt's default)":
        "false：不用对话格式的纯文本（模板 'raw'；swift pt 的默认值）",
    'pre-tokenized training samples: a directory swift export --to_cached_dataset wrote, or its train folder (with --dataset, both are trained on)':
        '预先分词的训练样本：swift export --to_cached_dataset 写出的目录或其中的 train 目录（与 --dataset 同时给出时两者都训练）',
    'pre-tokenized validation samples (default: the val folder of a --cached_dataset directory)':
        '预先分词的验证样本（默认：--cached_dataset 目录中的 val 目录）',
    'benchmarks scored at each eval step and logged beside the loss: gsm8k arc_c mmlu ...':
        '每次评测步都会打分并与损失一起记录的评测集：gsm8k arc_c mmlu ...',
    'rows per benchmark subset scored at each eval step (the first ones); default all': '每次评测步每个评测子集打分的条数（取前若干条）；默认全部',
    'local benchmark copies in their original layout, as swift eval --eval_dataset_dir':
        '评测集的本地副本，保持原始目录结构，同 swift eval --eval_dataset_dir',
    'per benchmark, JSON, as swift eval: {"gsm8k": {"few_shot_num": 4, "max_new_tokens": 128}}':
        '每个评测集的参数，JSON 格式，同 swift eval：{"gsm8k": {"few_shot_num": 4, "max_new_tokens": 128}}',
    'nccl | gloo | ... (default: nccl on GPUs, gloo on CPU)': 'nccl | gloo | ...（默认：GPU 上 nccl，CPU 上 gloo）',
    'seconds any process waits for the others in a collective before the run stops with an error':
        '集合通信中任一进程等待其他进程的秒数，超时后运行报错停止',
    'DDP: look for parameters that got no gradient (needed when some layers are skipped)': 'DDP：查找没有得到梯度的参数（跳过某些层时需要）',
    'FSDP2: fsdp2 | full_shard | shard_grad_op | hybrid_shard | offload (combinable: "full_shard offload"), or a JSON file {"fsdp": ..., "fsdp_config": {...}}':
        'FSDP2：fsdp2 | full_shard | shard_grad_op | hybrid_shard | offload（可组合："full_shard offload"），或 JSON 文件 {"fsdp": ..., "fsdp_config": {...}}',
    'FULL_SHARD | SHARD_GRAD_OP | HYBRID_SHARD | NO_SHARD; alone it turns on FSDP (NO_SHARD: DDP)':
        'FULL_SHARD | SHARD_GRAD_OP | HYBRID_SHARD | NO_SHARD；单独设置即开启 FSDP（NO_SHARD：DDP）',
    'DeepSpeed ZeRO: zero0 | zero1 | zero2 | zero3 | zero2_offload | zero3_offload, or a JSON file':
        'DeepSpeed ZeRO：zero0 | zero1 | zero2 | zero3 | zero2_offload | zero3_offload，或 JSON 文件',
    "set by the deepspeed launcher (--local_rank=K); the process's LOCAL_RANK environment variable is what is used":
        '由 deepspeed 启动器设置（--local_rank=K）；实际使用的是进程的 LOCAL_RANK 环境变量',
    'Ulysses sequence parallelism: groups of N processes split each row by position (all-to-all over the attention heads); N divides the processes and the heads; sft/pt under DDP':
        'Ulysses 序列并行：每 N 个进程一组，按位置切分每条样本（在注意力头上做 all-to-all）；N 须整除进程数和注意力头数；用于 DDP 下的 sft/pt',
    'add vN-<timestamp> under --output_dir': '在 --output_dir 下添加 vN-<时间戳> 子目录',
    'rows per device per evaluation batch': '每个设备每个评测批次的样本数',
    'micro-batches per optimizer step': '每个优化器步的微批次数（梯度累积）',
    'recompute activations in backward (default: on a GPU/NPU as ms-swift, off on CPU)':
        '反向传播时重新计算激活（默认：GPU/NPU 上开启，与 ms-swift 相同；CPU 上关闭）',
    'JSON keywords of torch\'s checkpointing, e.g. {"use_reentrant": false}':
        'torch 检查点的 JSON 关键字参数，例如 {"use_reentrant": false}',
    'AdamW weight decay': 'AdamW 的权重衰减',
    'fraction of the steps spent warming up': '用于预热的步数比例',
    "cosine | linear | constant | cosine_with_min_lr | ... (transformers')":
        'cosine | linear | constant | cosine_with_min_lr | ...（transformers 的学习率调度器）',
    'JSON keywords of the scheduler, e.g. {"min_lr": 1e-6} with cosine_with_min_lr':
        '调度器的 JSON 关键字参数，例如配合 cosine_with_min_lr 的 {"min_lr": 1e-6}',
    "transformers' optimizer name: adamw_torch | adamw_torch_fused | adafactor | sgd | ...":
        'transformers 的优化器名：adamw_torch | adamw_torch_fused | adafactor | sgd | ...',
    "extra optimizer arguments (transformers')": '额外的优化器参数（transformers 的格式）',
    'Adam beta1': 'Adam 的 beta1',
    "Adam beta2 (ms-swift's 0.95)": 'Adam 的 beta2（ms-swift 用 0.95）',
    'Adam epsilon': 'Adam 的 epsilon',
    'NEFTune: noise on the input embeddings while training (5, 10, 15)': 'NEFTune：训练时在输入嵌入上加噪声（5、10、15）',
    'Liger kernels (needs a CUDA GPU and pip install liger-kernel)': 'Liger 内核（需要 CUDA GPU 并 pip install liger-kernel）',
    "MoE models: weight of the router's load-balancing loss (> 0 turns the loss on)": 'MoE 模型：路由器负载均衡损失的权重（> 0 时开启该损失）',
    'deterministic algorithms (slower)': '确定性算法（更慢）',
    'clip gradients to this norm': '把梯度裁剪到该范数',
    'log the first step too': '第一步也记录日志',
    'steps | epoch | no (the final checkpoint is always saved)': 'steps | epoch | no（最终检查点总会保存）',
    'steps | epoch | no (default: --save_strategy when there is validation data, else no)':
        'steps | epoch | no（默认：有验证数据时同 --save_strategy，否则 no）',
    'evaluate once before the first step': '在第一步之前先评测一次',
    'steps between two evaluations (default: --save_steps)': '两次评测之间的步数（默认：--save_steps）',
    'keep only the newest N checkpoints': '只保留最新的 N 个检查点',
    'an eval metric (loss, token_acc, ...) that marks the best checkpoint, which --save_total_limit keeps '
    '(default with --predict_with_generate: rouge-l, as ms-swift)':
        '标记最佳检查点的评测指标（loss、token_acc 等），--save_total_limit 会保留该检查点（--predict_with_generate 时默认 rouge-l，与 ms-swift 相同）',
    'whether a larger --metric_for_best_model is better (default: true unless it is a loss)':
        '--metric_for_best_model 是否越大越好（默认：true，损失类指标除外）',
    'link <run>/last to the final checkpoint and <run>/best to the best one':
        '把 <run>/last 链接到最终检查点，<run>/best 链接到最佳检查点',
    'no optimizer state in checkpoints (smaller; no exact resume)': '检查点中不保存优化器状态（更小；无法精确续训）',
    'a checkpoint-N folder to go on from': '从该 checkpoint-N 目录继续训练',
    'tensorboard | wandb | swanlab | none': 'tensorboard | wandb | swanlab | none（训练日志上报到哪里）',
    "TensorBoard's folder (default <run>/runs)": 'TensorBoard 的目录（默认 <run>/runs）',
    'processes that build batches': '构建批次的进程数',
    'drop the last incomplete batch': '丢弃最后一个不完整的批次',
    'pin batches in page-locked memory': '把批次放在页锁定内存中',
    'keep the workers between epochs': '在各轮之间保留数据加载进程',
    'batches each worker loads ahead (needs --dataloader_num_workers > 0)':
        '每个加载进程预先加载的批次数（需要 --dataloader_num_workers > 0）',
    'batch rows of similar length together': '把长度相近的样本放在同一批次',
    "false: batches in the rows' order": 'false：批次按数据顺序',
    'causal_lm | seq_cls | embedding | reranker | generative_reranker':
        'causal_lm | seq_cls | embedding | reranker | generative_reranker（任务类型）',
    'seq_cls: classes (1 with regression)': 'seq_cls：类别数（回归时为 1）',
    'seq_cls: regression | single_label_classification | multi_label_classification (default: from num_labels and the label column)':
        'seq_cls：regression | single_label_classification | multi_label_classification（默认：由 num_labels 和标签列决定）',
    'embedding: infonce | cosine_similarity | contrastive | online_contrastive (default infonce); reranker / generative_reranker: pointwise_reranker | listwise_reranker (default pointwise_reranker)':
        'embedding：infonce | cosine_similarity | contrastive | online_contrastive（默认 infonce）；reranker / generative_reranker：pointwise_reranker | listwise_reranker（默认 pointwise_reranker）',
    'pack samples into max_length rows (SDPA, no flash-attn)': '把样本打包成 max_length 长的行（SDPA，不用 flash-attn）',
    'concatenate each batch into one row': '把每个批次拼接成一行（padding-free）',
    'encode training rows as training consumes them (needs --max_steps; no --packing)':
        '训练时边用边编码数据（需要 --max_steps；不能与 --packing 同用）',
    "the LM loss in chunks over trained positions only (no full logits tensor); false: the model's own":
        '只在参与训练的位置上分块计算语言模型损失（不生成完整的 logits 张量）；false：用模型自己的损失',
    # the advanced sections of swift rlhf (and of the forms sharing its fields)
    'reference model (default: --model; with LoRA the base with the adapter off)': '参考模型（默认：--model；LoRA 时为关闭适配器的基座模型）',
    'adapters applied to the reference': '应用到参考模型的适配器',
    'sigmoid hinge ipo exo_pair nca_pair robust bco_pair sppo_hard aot aot_unpaired apo_zero apo_down discopop sigmoid_norm; several are summed (see --loss_weights)':
        'sigmoid hinge ipo exo_pair nca_pair robust bco_pair sppo_hard aot aot_unpaired apo_zero apo_down discopop sigmoid_norm；多个时相加（见 --loss_weights）',
    'weights of several --loss_type': '多个 --loss_type 的权重',
    'add rpo_alpha × NLL of the chosen': '加上 rpo_alpha × 被选回答的负对数似然',
    'label noise of robust / exo_pair / aot': 'robust / exo_pair / aot 的标签噪声',
    'against a uniform reference (no model)': '以均匀分布作参考（不用参考模型）',
    'score the data with the reference once, then free it': '先用参考模型给数据打一次分，然后释放它',
    'target reward margin': '目标奖励间隔（margin）',
    'weight of the NLL of the chosen answer': '被选回答的负对数似然的权重',
    'weight of desirable (label true) rows': '正例（label 为 true）样本的权重',
    'weight of undesirable rows': '负例样本的权重',
    'pull the rewards towards 0 (e.g. 0.01)': '把奖励拉向 0（例如 0.01）',
    'extra strings that end a reply': '结束回答的额外字符串',
    'clip range of the probability ratio': '概率比的裁剪范围',
    'upper clip range (DAPO), default epsilon': '裁剪范围的上界（DAPO），默认同 epsilon',
    'generate with vLLM (needs vllm and a GPU)': '用 vLLM 生成（需要 vllm 和 GPU）',
    '--use_vllm: share of GPU memory the vLLM engine takes (it sits beside training)':
        '--use_vllm：vLLM 引擎占用的 GPU 显存比例（它与训练共存）',
    "--use_vllm: vLLM context length (default: the model's)": '--use_vllm：vLLM 的上下文长度（默认：模型的）',
    "--use_vllm: free vLLM's memory between rollouts (sleep / wake_up)":
        '--use_vllm：在两次采样之间释放 vLLM 的显存（sleep / wake_up）',
    '--use_vllm: colocate (an engine in this process) | server (a `swift rollout` server)':
        '--use_vllm：colocate（本进程内的引擎）| server（一个 `swift rollout` 服务）',
    "--vllm_mode server: the server's host": '--vllm_mode server：服务的主机',
    "--vllm_mode server: the server's port": '--vllm_mode server：服务的端口',
    '--vllm_mode server: seconds to wait for the server (start-up, one rollout)': '--vllm_mode server：等待服务的秒数（启动、一次采样）',
    '--use_vllm colocate: 1 or 2 puts vLLM to sleep between rollouts at that level (2 also frees the weights)':
        '--use_vllm colocate：1 或 2 表示在两次采样之间让 vLLM 以该级别休眠（2 还会释放权重）',
    '--use_vllm colocate: move the policy to CPU while vLLM generates': '--use_vllm colocate：vLLM 生成时把策略模型移到 CPU',
    '--use_vllm colocate: move the optimizer state to CPU while vLLM generates':
        '--use_vllm colocate：vLLM 生成时把优化器状态移到 CPU',
    'reward models (swift rlhf --rlhf_type rm output); GRPO takes several, PPO one':
        '奖励模型（swift rlhf --rlhf_type rm 的输出）；GRPO 可用多个，PPO 用一个',
    'adapters of --reward_model (one reward model)': '--reward_model 的适配器（一个奖励模型时）',
    'weight of the value loss': '价值损失的权重',
    'clip range of the value update': '价值更新的裁剪范围',
    'discount': '折扣因子',
    'GAE lambda': 'GAE 的 lambda',
    'subtract from the score of completions cut at --max_new_tokens': '从在 --max_new_tokens 处被截断的回答的得分中减去该值',
    'completions per prompt (the group)': '每个提示生成的回答数（即一组）',
    'one weight per reward: --reward_funcs, then --reward_model': '每个奖励一个权重：先 --reward_funcs，再 --reward_model',
    "divide advantages by the std of: group (each prompt's completions) | batch | none; true = group, false = none":
        '用哪种标准差来除优势：group（每个提示的回答）| batch | none；true = group，false = none',
    "policy updates per rollout (GRPO's mu): each step's prompts come back this many times":
        '每次采样后的策略更新次数（GRPO 的 mu）：每一步的提示会重复使用这么多次',
    'write every completion with its rewards and advantage to <output_dir>/completions.jsonl':
        '把每个回答及其奖励和优势写入 <output_dir>/completions.jsonl',
    'completions cut at --max_new_tokens take no part in the loss (DAPO)': '在 --max_new_tokens 处被截断的回答不参与损失（DAPO）',
    'replace groups whose rewards are all equal (no signal) by new prompts (DAPO)': '把奖励全部相同（没有信号）的组替换为新的提示（DAPO）',
    '--dynamic_sample: rounds of new prompts per step before keeping what it has':
        '--dynamic_sample：每一步补充新提示的最多轮数，之后保留已有的',
    "the teacher (must share the student's tokenizer)": '教师模型（必须与学生模型使用相同的分词器）',
    'adapters merged into the teacher': '合并进教师模型的适配器',
    "probability that a step trains on the student's own answers (on-policy)": '某一步用学生模型自己的回答训练的概率（on-policy）',
    "off-policy steps train on the teacher's answers instead of the dataset's (sequence-level KD)":
        'off-policy 的步用教师模型的回答而非数据集的回答训练（序列级知识蒸馏）',
    'add sft_alpha × the NLL of the labelled tokens': '加上 sft_alpha × 带标签 token 的负对数似然',
    # the advanced sections of swift infer (and of the forms sharing its fields)
    'most sequences decoded together': '同时解码的最多序列数',
    'merge the adapter into the weights before serving': '部署前把适配器合并进权重',
    'extra keywords for the backend engine, as JSON (e.g. gpu_memory_utilization)':
        '后端推理引擎的额外关键字参数，JSON 格式（例如 gpu_memory_utilization）',
    'a prompt longer than --max_length: delete (refuse the request) | left (keep its end) | right':
        '比 --max_length 长的提示：delete（拒绝请求）| left（保留末尾）| right',
    'stream the reply (default: on a terminal)': '流式输出回答（默认：在终端上开启）',
    'batch mode: dataset files or IDs to answer, row by row': '批量模式：逐行回答的数据集文件或 ID',
    'batch mode: JSONL output (resumed when it exists)': '批量模式：JSONL 输出文件（已存在时接着写）',
    'batch mode on the validation rows of the training run that saved --adapters (its args.json: the same datasets, split and seed)':
        '批量模式，使用保存 --adapters 的那次训练的验证数据（其 args.json：相同的数据集、划分和种子）',
    "batch mode: answer only the first N rows (of --val_dataset or the training run's validation rows)":
        '批量模式：只回答前 N 条（--val_dataset 的，或训练运行的验证数据的）',
    # the advanced sections of swift deploy (and of the forms sharing its fields)
    'the owned_by field of the models in /v1/models': '/v1/models 中各模型的 owned_by 字段',
    'requests waiting for a free slot; past it the server answers 429': '等待空闲位置的请求数上限；超过后服务返回 429',
    'seconds a request may take from arrival to its last token (0: no limit)': '一个请求从到达到最后一个 token 的最长秒数（0：不限）',
    'seconds between status lines (requests in flight, tokens/s); 0: none': '两次状态行之间的秒数（进行中的请求、tokens/s）；0：不输出',
    'log every HTTP request': '记录每个 HTTP 请求',
    'largest request body in bytes; past it the server answers 413 (0: no limit)': '请求体的最大字节数；超过后服务返回 413（0：不限）',
    'seconds a client may take to send its request body; past it, 408 (0: no limit)': '客户端发送请求体的最长秒数；超过后返回 408（0：不限）',
    'inputs in one /v1/embeddings request; past it, 400': '一次 /v1/embeddings 请求的最多输入数；超过后返回 400',
    'seconds running requests get to finish after SIGTERM or Ctrl-C; then each ends with an error (503, or an error event and [DONE] in a stream)':
        '收到 SIGTERM 或 Ctrl-C 后留给进行中请求完成的秒数；之后每个请求以错误结束（503，或流中的错误事件和 [DONE]）',
    'serve /docs, /redoc and /openapi.json (behind the key with --api_key)':
        '提供 /docs、/redoc 和 /openapi.json（有 --api_key 时同样需要密钥）',
    # the advanced sections of swift eval (and of the forms sharing its fields)
    'per benchmark, JSON: {"mmlu": {"few_shot_num": 5, "subsets": [...], "limit": 10}}':
        '每个评测集的参数，JSON 格式：{"mmlu": {"few_shot_num": 5, "subsets": [...], "limit": 10}}',
    "the server's API key": '服务的 API 密钥',
    'native | evalscope | lm_eval | VLMEvalKit': 'native | evalscope | lm_eval | VLMEvalKit（评测后端）',
    'questions per forward pass (local models)': '每次前向传播的题目数（本地模型）',
    'concurrent requests to --eval_url': '发往 --eval_url 的并发请求数',
    'ask through the chat template (default: plain text, as the reference harness)': '通过对话模板提问（默认：纯文本，与参考评测工具相同）',
    'skip questions already in the sample log': '跳过样本日志中已有的题目',
    'also score --adapters on the validation rows of the run that saved it (its args.json): loss and token accuracy, as val_split':
        '同时在保存 --adapters 的那次运行的验证数据上给它打分（其 args.json）：损失和 token 准确率，记为 val_split',
    # the advanced sections of swift export (and of the forms sharing its fields)
    "rows of --to_cached_dataset, or calibration and perplexity rows, [hf::|ms::]ID_OR_PATH[#N] (calibration default: swift's built-in sample)":
        '--to_cached_dataset 的数据，或校准和困惑度数据，[hf::|ms::]ID或路径[#N]（校准默认：swift 内置的样例）',
    'max tokens per sample (--to_cached_dataset), per calibration / perplexity row (default 512)':
        '每个样本的最大 token 数（--to_cached_dataset），每条校准 / 困惑度数据的最大 token 数（默认 512）',
    'largest safetensors shard, e.g. 2GB': 'safetensors 分片的最大大小，例如 2GB',
    'write a GGUF file (llama.cpp, LM Studio)': '写出 GGUF 文件（llama.cpp、LM Studio）',
    'f32 | f16 | bf16 | q8_0 | q4_0 | q4_1 | q5_0 | q5_1 | q2_k | q3_k_s | q3_k_m | q3_k_l | q4_k_s | q4_k_m | q5_k_s | q5_k_m | q6_k (K-quants need llama.cpp)':
        'f32 | f16 | bf16 | q8_0 | q4_0 | q4_1 | q5_0 | q5_1 | q2_k | q3_k_s | q3_k_m | q3_k_l | q4_k_s | q4_k_m | q5_k_s | q5_k_m | q6_k（K 系列量化需要 llama.cpp）',
    'write a GGUF and an Ollama Modelfile': '写出 GGUF 文件和 Ollama 的 Modelfile',
    'bnb | gptq | awq | fp8 | hqq': 'bnb | gptq | awq | fp8 | hqq（量化方法）',
    'bits per weight (e.g. 4 or 8)': '每个权重的比特数（例如 4 或 8）',
    'nf4 | fp4 (--quant_method bnb)': '4 比特量化的类型：nf4 | fp4（--quant_method bnb）',
    'also quantize the scales (bnb)': '同时量化缩放因子（bnb）',
    'calibration rows (the rest measure perplexity)': '校准数据条数（其余用于测困惑度）',
    'calibration batch size': '校准的批大小',
    'weights sharing one scale (gptq, awq, hqq)': '共享一个缩放因子的权重数（gptq、awq、hqq）',
    "hqq: 1 (hqq's default) groups --group_size consecutive inputs of one output row (as GPTQ/AWQ and GGUF blocks), "
    '0 groups weights of one input column across output rows':
        'hqq：1（hqq 的默认值）按同一输出行的 --group_size 个连续输入分组（同 GPTQ/AWQ 和 GGUF 的块），0 按同一输入列跨输出行分组',
    'w8a8: FP8 weights and activations (FP8_DYNAMIC) | w8a16: FP8 weights only (--quant_method fp8)':
        'w8a8：权重和激活均为 FP8（FP8_DYNAMIC）| w8a16：仅权重为 FP8（--quant_method fp8）',
    'encode --dataset (and its validation rows) once, into --output_dir/train and /val, for swift sft / pt --cached_dataset':
        '把 --dataset（及其验证数据）编码一次，写入 --output_dir/train 和 /val，供 swift sft / pt --cached_dataset 使用',
    'train (the encoding of swift sft / pt; rlhf and kto are not supported yet)':
        'train（swift sft / pt 的编码方式；rlhf 和 kto 尚不支持）',
    'upload the export (alone: the --adapters checkpoint or --model directory as it is) to ModelScope, or to Hugging Face with --use_hf':
        '上传导出结果（单独使用时：按原样上传 --adapters 检查点或 --model 目录）到 ModelScope，或用 --use_hf 上传到 Hugging Face',
    'the repository, org/name (created if missing)': '仓库，org/name（不存在时创建）',
    'create the repository private': '创建私有仓库',
    'a token with write access (default: HF_TOKEN / MODELSCOPE_API_TOKEN, or a saved login)':
        '有写权限的令牌（默认：HF_TOKEN / MODELSCOPE_API_TOKEN，或已保存的登录）',
    "the hub commit's message": 'hub 提交的说明',
    # flags added by the ms-swift parity pass (issue 16)
    "where the weights go, passed to from_pretrained (ms-swift's): auto | sequential | balanced | cpu | cuda:0 | a JSON object {module: device} or a JSON file holding one (default: the one device found)":
        '权重放在哪里，传给 from_pretrained（与 ms-swift 相同）：auto | sequential | balanced | cpu | cuda:0 | JSON 对象 {模块: 设备}，或保存该对象的 JSON 文件（默认：检测到的那一个设备）',
    'JSON {device: size}, e.g. \'{"0": "20GB", "cpu": "60GB"}\': how much of each device --device_map auto|sequential|balanced may fill (passed to from_pretrained)':
        'JSON {设备: 大小}，例如 \'{"0": "20GB", "cpu": "60GB"}\'：--device_map auto|sequential|balanced 在每个设备上最多可占用多少（传给 from_pretrained）',
    'stop after this many passes over the data, whatever --max_steps / --num_train_epochs say (then the final checkpoint is saved; useful with --streaming, as ms-swift)':
        '遍历数据这么多轮后停止，不论 --max_steps / --num_train_epochs 如何设置（随后保存最终检查点；与 ms-swift 相同，适用于 --streaming）',
    "when resuming, start the data from its beginning instead of skipping the batches already seen (with --resume_only_model: a new run from step 0 on the checkpoint's weights)":
        '续训时从数据开头读起，而不是跳过已经训练过的批次（与 --resume_only_model 一起：在检查点权重上从第 0 步开始新的训练）',
    'with --resume_from_checkpoint: load only the model weights, not the optimizer, scheduler or random state (as ms-swift; the step count and data position go on unless --ignore_data_skip)':
        '与 --resume_from_checkpoint 一起：只加载模型权重，不加载优化器、学习率调度器和随机状态（与 ms-swift 相同；除非 --ignore_data_skip，步数和数据位置会接着走）',
    'at each evaluation also answer the validation rows (greedy, up to 64 new tokens) and log eval_rouge-1/-2/-l and eval_bleu-4 against their answers (ms-swift\'s NLG metrics; pip install "swift[nlg]")':
        '每次评测时也让模型回答验证集（贪心解码，最多 64 个新 token），并记录与参考答案相比的 eval_rouge-1/-2/-l 和 eval_bleu-4（ms-swift 的 NLG 指标；需 pip install "swift[nlg]"）',
    "token | seq: the training log's accuracy, token_acc (trained tokens predicted right) or seq_acc (sequences with every trained token right)":
        'token | seq：训练日志中的准确率，token_acc（预测正确的训练 token 比例）或 seq_acc（所有训练 token 全部预测正确的序列比例）',
    "which answers --to_cached_dataset trains (as --loss_scale of swift sft / rlhf; default: swift sft's default, last_round with --template_mode rlhf|kto as swift rlhf)":
        '--to_cached_dataset 训练哪些回答（同 swift sft / rlhf 的 --loss_scale；默认：swift sft 的默认值，--template_mode rlhf|kto 时同 swift rlhf 为 last_round）',
    'the encoding of --to_cached_dataset: train (swift sft / pt), rlhf (swift rlhf --rlhf_type dpo|orpo|simpo|cpo|rm: chosen and rejected) or kto (swift rlhf --rlhf_type kto)':
        '--to_cached_dataset 的编码方式：train（swift sft / pt）、rlhf（swift rlhf --rlhf_type dpo|orpo|simpo|cpo|rm：chosen 与 rejected）或 kto（swift rlhf --rlhf_type kto）',
    'batch mode: each result line gets "logprobs" (OpenAI\'s format: every generated token\'s log probability under the model)':
        '批量模式：每行结果附带 "logprobs"（OpenAI 格式：每个生成 token 在模型下的对数概率）',
    'with --logprobs: also the N most likely tokens at each position':
        '与 --logprobs 一起：同时给出每个位置最可能的 N 个 token',
    "beam search with this many beams (transformers' generate; greedy, the transformers backend)":
        '使用这么多束的束搜索（transformers 的 generate；贪心，仅 transformers 后端）',
    'encode each row when training reads it, after a validation pass (default: on for multimodal models, as in ms-swift; off with --packing, --streaming, --load_from_cache_file)':
        '训练读取某行时才对其编码，之前先做一次校验（默认：多模态模型开启，与 ms-swift 相同；与 --packing、--streaming、--load_from_cache_file 一起时关闭）',
    "rows per forward/backward inside a training step: the batch runs as micro-batches whose gradients add up to the whole batch's (same update, less activation memory); 0: the whole batch; default: 2 with --packing on CPU, else 0":
        '训练步内每次前向/反向的行数：批次分成若干微批次，其梯度相加等于整个批次的梯度（更新相同，激活内存更少）；0：整个批次；默认：CPU 上开启 --packing 时为 2，否则为 0',
    'transformers backend on CPU: torch.compile one decoder layer for the decode step, per batch-size bucket, in the background (eager until a bucket is ready; needs a C++ compiler)':
        '仅 CPU 上的 transformers 后端：用 torch.compile 编译解码步的一个解码器层，按批大小分桶，在后台编译（某个桶编译好之前用 eager 执行；需要 C++ 编译器）',
}
