"""docs/supported-models.md is generated from the model registry (`python -m swift.cli.docs`) and kept current."""
from swift.cli.docs import DOCS_PATH, render_supported_models_md
from swift.model.registry import builtin_metas


def test_docs_page_is_up_to_date():
    assert DOCS_PATH.is_file(), 'docs/supported-models.md is missing: run `python -m swift.cli.docs`'
    assert DOCS_PATH.read_text(encoding='utf-8') == render_supported_models_md(), \
        'docs/supported-models.md is stale: run `python -m swift.cli.docs`'


def test_docs_page_lists_every_checkpoint():
    text = render_supported_models_md()
    for meta in builtin_metas():
        assert f'### {meta.model_type}\n' in text
        for model in meta.models:
            for model_id in model.ids:
                assert f'[{model_id}]' in text
