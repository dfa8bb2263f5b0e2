"""The UI's words in English and Chinese. `--lang en|zh` fixes one; without it the browser's language decides
(Gradio's I18n for the labels, the request's Accept-Language for messages the handlers write).

Field labels are the CLI's flag names (the same in every language); a field's help is the arguments class's own.
"""
from typing import Any, Optional

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


def text(key: str, lang: Optional[str], **kwargs) -> str:
    en, zh = TEXTS[key]
    return (zh if lang == 'zh' else en).format(**kwargs)


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
            self.i18n = gr.I18n(en={k: v[0] for k, v in TEXTS.items()}, zh={k: v[1] for k, v in TEXTS.items()})

    def __call__(self, key: str):
        return text(key, self.lang) if self.i18n is None else self.i18n(key)
