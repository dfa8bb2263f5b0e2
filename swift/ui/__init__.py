"""The interactive front ends (layer 7, beside the Python API): `swift web-ui` (web_ui.py), `swift app`
(app.py) and `swift menu` (menu.py).

    forms.py      a command's form from its arguments class: fields, defaults, help, argv, the CLI's errors
    jobs.py       detached `swift` jobs whose state lives on disk (jobrun.py is each job's wrapper)
    form_view.py, jobs_view.py, chat_view.py   the Gradio parts of the pages; chat.py what a chat talks to
    i18n.py       English and Chinese labels

Gradio is imported only by the page modules: `import swift.ui.forms` needs no Gradio.
"""
