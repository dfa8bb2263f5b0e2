"""The UI's words in English and Chinese. `--lang en|zh` fixes one; without it the browser's language decides
(Gradio's I18n for the labels, the request's Accept-Language for messages the handlers write).

Field labels are the CLI's flag names (the same in every language). A field's help is the arguments class's own
English; GROUPS_ZH and HELP_ZH below translate the section titles and the help of the fields each form shows at
its top (keyed by the English text: when a help text changes, its translation is missing and
tests/ui/test_i18n.py says which). Every translation of the UI lives in this file.
"""
import hashlib
from typing import Any, Dict, Optional

TEXTS = {
    'title': ('swift web UI', 'swift 网页界面'),
    'intro': ('Each form is the command line of one `swift` command: fill in the fields, check the command below, '
              'launch it. Jobs keep running when you close this page.',
              '每个表单对应一条 `swift` 命令：填写字段，核对下方的命令，然后启动。关闭页面后任务仍会继续运行。'),
    'tab_train': ('Train', '训练'),
    'tab_rlhf': ('RLHF', '人类对齐'),
    'tab_infer': ('Infer', '推理'),
    'tab_deploy': ('Deploy', '部署'),
    'tab_eval': ('Eval', '评测'),
    'tab_export': ('Export', '导出'),
    'tab_jobs': ('Jobs', '任务'),
    'advanced': ('advanced', '高级'),
    'command': ('The command this form runs (copy it to run it in a terminal)', '此表单将运行的命令（可复制到终端运行）'),
    'launch': ('Launch', '启动'),
    'check': ('Check', '检查'),
    'form_ok': ('The arguments are valid.', '参数有效。'),
    'form_errors': ('Fix the fields marked below; nothing was started.', '请修正下方标出的字段；没有启动任何任务。'),
    'launched': ('Started job {job}: follow it in the Jobs tab.', '已启动任务 {job}：请在“任务”页查看。'),
    'jobs_table': ('Jobs', '任务列表'),
    'job_pick': ('Job', '任务'),
    'refresh': ('Refresh', '刷新'),
    'kill': ('Kill', '终止'),
    'killed': ('Sent SIGTERM to job {job}.', '已向任务 {job} 发送 SIGTERM。'),
    'not_running': ('Job {job} is not running.', '任务 {job} 未在运行。'),
    'log': ('Log (last lines)', '日志（末尾）'),
    'serving': ('Serving at {url} (OpenAI-compatible; Kill stops it)', '服务地址 {url}（兼容 OpenAI；“终止”可停止服务）'),
    'curves': ('Training curves', '训练曲线'),
    'metrics': ('Metrics', '指标'),
    'col_id': ('job', '任务'),
    'col_command': ('command', '命令'),
    'col_status': ('status', '状态'),
    'col_elapsed': ('elapsed', '已用时间'),
    'col_eta': ('ETA', '剩余时间'),
    'status_running': ('running', '运行中'),
    'status_finished': ('finished', '已完成'),
    'status_failed': ('failed', '失败'),
    'status_killed': ('killed', '已终止'),
    'status_lost': ('lost (its process is gone)', '丢失（进程已不存在）'),
    'no_points': ('No logged steps yet.', '还没有记录的步数。'),
    'points': ('{curve}: {n} points, last {last}', '{curve}：{n} 个点，最新 {last}'),
    'checkpoint': ('Checkpoint of a finished job', '已完成任务的检查点'),
    'model': ('Model (registry ID, hub ID or local directory)', '模型（注册名、hub ID 或本地目录）'),
    'system': ('System prompt', '系统提示词'),
    'load': ('Load', '加载'),
    'loaded': ('Loaded {what}.', '已加载 {what}。'),
    'loading': ('Loading {what} ...', '正在加载 {what} ...'),
    'not_loaded': ('Load a model first.', '请先加载模型。'),
    'chat': ('Chat', '对话'),
    'message': ('Message', '消息'),
    'send': ('Send', '发送'),
    'clear': ('Clear history', '清空历史'),
    'answered': ('Answered in {seconds} s.', '回答用时 {seconds} 秒。'),
    'generation': ('Generation settings', '生成设置'),
    'image': ('Image (sent with the next message)', '图片（随下一条消息发送）'),
    'takes_images': ('It takes images: upload one below the chat.', '该模型接受图片：可在对话框下方上传。'),
    'text_only_note': ('This model takes text only: no image upload.', '该模型只接受文本：不能上传图片。'),
    'text_only': ('⚠ This model takes text only: the image was not sent. Ask in words.',
                  '⚠ 该模型只接受文本：图片未发送。请用文字提问。'),
    'sub_sft': ('sft (supervised)', 'sft（有监督微调）'),
    'sub_pt': ('pt (pre-training)', 'pt（继续预训练）'),
}


# Section titles of the forms (swift.utils.args.field_groups: the arguments classes' GROUP_TITLE)
GROUPS_ZH: Dict[str, str] = {
    'general': '通用', 'model': '模型', 'template': '对话模板', 'quantization (QLoRA)': '量化（QLoRA）',
    'tuner': '微调方式', 'data': '数据', 'benchmarks while training': '训练中评测', 'distributed training': '分布式训练',
    'training loop': '训练循环', 'task': '任务', 'batching and loss': '批处理与损失', 'alignment': '对齐',
    'reference model': '参考模型', 'DPO': 'DPO 参数', 'SimPO': 'SimPO 参数', 'KTO': 'KTO 参数', 'reward model training': '奖励模型训练',
    'generation': '生成', 'rollouts': '采样（rollout）', 'reward model': '奖励模型', 'PPO': 'PPO 参数', 'GRPO': 'GRPO 参数',
    'GKD': 'GKD 参数', 'engine': '推理引擎', 'server': '服务', 'swift eval': 'swift eval 评测',
    'swift export': 'swift export 导出', 'adapters': '适配器', 'swift infer': 'swift infer 推理',
}
# The help of the fields shown at the top of each form and of the chat's generation settings (English → Chinese)
HELP_ZH: Dict[str, str] = {
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
    'dpo | orpo | simpo | cpo | kto | rm | ppo | grpo | gkd': '对齐算法：dpo | orpo | simpo | cpo | kto | rm | ppo | grpo | gkd',
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
    'local copies in their original layout (<dir>/mmlu, <dir>/gsm8k, ...)':
        '评测集的本地副本，保持原始目录结构（<目录>/mmlu、<目录>/gsm8k 等）',
    'an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1': '兼容 OpenAI 的服务地址，例如 http://127.0.0.1:8000/v1',
    'results go to <dir>/<model name>': '结果写入 <目录>/<模型名>',
    'merge the adapter into the base weights': '把适配器合并进基座模型的权重',
    'where to write (default: <adapter dir or model name>-<kind>); must not exist':
        '输出目录（默认：<适配器目录或模型名>-<类型>）；不能已存在',
    'max tokens to generate (none: up to the context length)': '最多生成的 token 数（none：直到上下文长度）',
    '0 means greedy': '0 表示贪心解码',
    'nucleus sampling: keep the smallest set of tokens whose probabilities add up to this':
        '核采样：保留概率之和达到该值的最小 token 集合',
    'sample among the k most likely tokens; 0 disables top-k': '在概率最高的 k 个 token 中采样；0 表示不用 top-k',
    'drop tokens less likely than min_p times the most likely token (after temperature); 0 disables it':
        '丢弃概率低于最可能 token 概率 min_p 倍的 token（温度之后）；0 表示不用',
    '> 1 discourages repeating tokens': '大于 1 时抑制重复的 token',
}


def _key(kind: str, english: str) -> str:
    """The I18n key of a translated text (Gradio's keys are identifiers; the English text is not one)."""
    return f'{kind}_{hashlib.sha1(english.encode()).hexdigest()[:12]}'


def text(key: str, lang: Optional[str], **kwargs) -> str:
    en, zh = TEXTS[key]
    return (zh if lang == 'zh' else en).format(**kwargs)


def help_text(english: str, lang: Optional[str]) -> str:
    """A field's help in one language (the CLI's English where no translation exists)."""
    return HELP_ZH.get(english, english) if lang == 'zh' else english


def request_lang(request: Any, fixed: Optional[str]) -> str:
    """The language of one request: --lang when given, else the browser's Accept-Language."""
    if fixed:
        return fixed
    headers = getattr(request, 'headers', None) or {}
    accept = (headers.get('accept-language') or '') if hasattr(headers, 'get') else ''
    return 'zh' if accept.lower().startswith('zh') else 'en'


class Labels:
    """label('tab_train'): the fixed language's text, or an I18n entry the browser resolves."""

    def __init__(self, lang: Optional[str]):
        self.lang = lang
        self.i18n = None
        if lang is None:
            import gradio as gr
            en, zh = {k: v[0] for k, v in TEXTS.items()}, {k: v[1] for k, v in TEXTS.items()}
            for kind, table in (('group', GROUPS_ZH), ('help', HELP_ZH)):
                for english, chinese in table.items():
                    en[_key(kind, english)], zh[_key(kind, english)] = english, chinese
            self.i18n = gr.I18n(en=en, zh=zh)

    def __call__(self, key: str):
        return text(key, self.lang) if self.i18n is None else self.i18n(key)

    def group(self, title: str):
        """A form section's title (English where no translation exists)."""
        return self._translated('group', GROUPS_ZH, title)

    def help(self, english: str):
        """A field's help: the Chinese translation where there is one, else the CLI's English."""
        return self._translated('help', HELP_ZH, english)

    def _translated(self, kind: str, table: Dict[str, str], english: str):
        if english not in table or self.lang == 'en':
            return english
        return table[english] if self.lang == 'zh' else self.i18n(_key(kind, english))  # the browser picks
