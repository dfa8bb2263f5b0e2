"""The Jobs tab: every job of the store with status, elapsed time and ETA; the chosen job's log tail, its
loss / learning-rate / reward curves from logging.jsonl (redrawn while it runs, kept when it ends) and its last
metrics; a kill button. Everything is read from disk at each refresh, so a restarted UI shows the same."""
import json
from typing import Any, Dict, List, Optional

import gradio as gr

from .i18n import Labels, request_lang, text
from .jobs import RUNNING, Job, JobStore

REFRESH_SECONDS = 2.0
_NOT_CURVES = ('global_step', 'max_steps', 'epoch', 'elapsed_s', 'eta_s', 'memory_gib')


def curve_keys(records: List[Dict[str, Any]]) -> List[str]:
    """The curves worth drawing: loss, learning rate and rewards first, then the other logged numbers."""
    keys = [k for r in records for k, v in r.items() if isinstance(v, (int, float)) and k not in _NOT_CURVES]
    keys = list(dict.fromkeys(keys))
    first = [k for k in ('loss', 'learning_rate', 'eval_loss') if k in keys] + [k for k in keys if 'reward' in k]
    return list(dict.fromkeys(first))[:6] or keys[:4]


def plot_curves(records: List[Dict[str, Any]]):
    """A matplotlib figure with one panel per curve (None without logged steps)."""
    keys = curve_keys(records)
    if not keys:
        return None
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3), squeeze=False)
    for ax, key in zip(axes[0], keys):
        points = [(r['global_step'], r[key]) for r in records if isinstance(r.get(key), (int, float))]
        ax.plot(*zip(*points), marker='o', markersize=3)
        ax.set_title(key)
        ax.set_xlabel('step')
        ax.grid(alpha=0.3)
    fig.tight_layout()
    plt.close(fig)
    return fig


def _duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return ''
    seconds = int(seconds)
    return f'{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


def _status(job: Job, lang: str) -> str:
    return text(f'status_{job.status().split()[0]}', lang)


class JobsView:
    def __init__(self, labels: Labels, store: JobStore, fixed_lang: Optional[str]):
        self.store = store
        self.fixed_lang = fixed_lang
        headers = [labels('col_id'), labels('col_status'), labels('col_elapsed'), labels('col_eta'),
                   labels('col_command')] if fixed_lang else ['job', 'status', 'elapsed', 'ETA', 'command']
        self.table = gr.Dataframe(headers=headers, value=[], interactive=False, wrap=True, elem_id='jobs-table',
                                  label=labels('jobs_table'))
        with gr.Row():
            self.pick = gr.Dropdown(choices=[], label=labels('job_pick'), elem_id='jobs-pick', scale=4)
            self.refresh_button = gr.Button(labels('refresh'), elem_id='jobs-refresh', scale=1)
            self.kill_button = gr.Button(labels('kill'), variant='stop', elem_id='jobs-kill', scale=1)
        self.status = gr.Markdown(elem_id='jobs-status')
        self.plot = gr.Plot(label=labels('curves'), elem_id='jobs-plot')
        self.points = gr.Markdown(elem_id='jobs-points')
        self.metrics = gr.Code(label=labels('metrics'), language='json', elem_id='jobs-metrics')
        self.log = gr.Textbox(label=labels('log'), lines=14, max_lines=14, autoscroll=True, elem_id='jobs-log')
        self.drawn = gr.State(None)  # (job, records, status) of the plot on the page: redraw only what changed
        self.timer = gr.Timer(REFRESH_SECONDS)
        outputs = [self.table, self.pick, self.status, self.plot, self.points, self.metrics, self.log, self.drawn]
        for event in (self.timer.tick, self.refresh_button.click, self.pick.change):
            event(self.refresh, inputs=[self.pick, self.drawn], outputs=outputs, show_progress='hidden')
        self.kill_button.click(self.kill, inputs=[self.pick], outputs=[self.status])

    def refresh(self, picked: Optional[str], drawn, request: gr.Request):
        lang = request_lang(request, self.fixed_lang)
        jobs = self.store.jobs()
        rows = [[job.id, _status(job, lang), _duration(job.elapsed()), _duration(job.eta()), job.info['display']]
                for job in jobs]
        ids = [job.id for job in jobs]
        picked = picked if picked in ids else (ids[0] if ids else None)
        pick = gr.update(choices=ids, value=picked)
        if picked is None:
            return rows, pick, '', None, text('no_points', lang), '', '', None
        job = self.store.get(picked)
        records = job.records()
        state = (picked, len(records), job.status())
        status = f'**{job.id}**: {_status(job, lang)} · `{job.info["display"]}`'
        if job.run_dir():
            status += f'\n\n{job.run_dir()}'
        if job.url():
            status += '\n\n' + text('serving', lang, url=job.url())
        if drawn is not None and tuple(drawn) == state:
            plot = points = metrics = gr.skip()
        else:
            plot = plot_curves(records)
            points = '  \n'.join(text('points', lang, curve=k, n=sum(k in r for r in records),
                                      last=f'{[r[k] for r in records if k in r][-1]:.4g}')
                                 for k in curve_keys(records)) or text('no_points', lang)
            metrics = json.dumps(records[-1], indent=1, ensure_ascii=False) if records else ''
        return rows, pick, status, plot, points, metrics, job.log_tail(), list(state)

    def kill(self, picked: Optional[str], request: gr.Request):
        lang = request_lang(request, self.fixed_lang)
        if not picked:
            return ''
        return text('killed' if self.store.kill(picked) else 'not_running', lang, job=picked)

    def running(self) -> List[Job]:
        return [job for job in self.store.jobs() if job.status() == RUNNING]
