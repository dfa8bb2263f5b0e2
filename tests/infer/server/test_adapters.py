"""`--adapters name=path`: the request's `model` picks the adapter; /v1/models lists base and adapters."""
from types import SimpleNamespace

import numpy as np
import pytest

from swift.infer import InferRequest, RequestConfig
from swift.infer.protocol import BASE_ADAPTER
from swift.infer.server.errors import APIError
from swift.infer.server.models import ServedModels
from tests.export.adapters import trained_adapter

from .conftest import running_server, user


@pytest.fixture(scope='module')
def adapter_engine(tmp_path_factory, tiny_model_dir):
    from swift.infer.transformers_engine import PtEngine
    checkpoint = trained_adapter(tmp_path_factory, tiny_model_dir, 'lora')
    engine = PtEngine(str(tiny_model_dir), template='smollm2', adapters=[f'ft={checkpoint}'], max_batch_size=8)
    yield engine, [f'ft={checkpoint}']
    engine.close()


def first_token_logprobs(response):
    return [entry.logprob for entry in response.choices[0].logprobs.content]


def test_request_model_selects_the_adapter(adapter_engine):
    engine, specs = adapter_engine
    config = RequestConfig(max_tokens=4, logprobs=True)
    messages = user('What is 3 plus 3?')
    with running_server(engine, served_model_name='tiny', adapter_specs=specs) as server:
        client = server.client()
        listed = client.models.list().data
        assert [m.id for m in listed] == ['tiny', 'ft'] and listed[1].parent == 'tiny'
        tuned = client.chat.completions.create(model='ft', messages=messages, max_tokens=4, logprobs=True)
        base = client.chat.completions.create(model='tiny', messages=messages, max_tokens=4, logprobs=True)
        # same batch machinery, so compare with the engine answering directly for each adapter choice
        direct_tuned = engine.infer([InferRequest(messages, adapter='ft')], config)[0]
        direct_base = engine.infer([InferRequest(messages, adapter=BASE_ADAPTER)], config)[0]
        assert np.allclose(first_token_logprobs(tuned), [e.logprob for e in direct_tuned.choices[0].logprobs.content],
                           atol=1e-4)
        assert np.allclose(first_token_logprobs(base), [e.logprob for e in direct_base.choices[0].logprobs.content],
                           atol=1e-4)
        assert abs(first_token_logprobs(tuned)[0] - first_token_logprobs(base)[0]) > 1e-3  # the adapter acts
        tuned_vector = client.embeddings.create(model='ft', input='hello', encoding_format='float').data[0].embedding
        base_vector = client.embeddings.create(model='tiny', input='hello', encoding_format='float').data[0].embedding
        assert np.abs(np.array(tuned_vector) - np.array(base_vector)).max() > 1e-4


def fake_engine(adapters=(), default=None):
    return SimpleNamespace(model_name='/models/My-Model', adapters=list(adapters), default_adapter=default)


def test_served_names_for_named_and_unnamed_adapters():
    plain = ServedModels.for_engine(fake_engine(), None, [])
    assert plain.names == ['/models/My-Model'] and plain.adapter_for(None) is None
    named = ServedModels.for_engine(fake_engine(['a', 'b'], 'a'), 'base', ['a=/x', 'b=/y'])
    assert named.names == ['base', 'a', 'b']
    assert [m['owned_by'] for m in named.listing()['data']] == ['swift'] * 3
    assert ServedModels.for_engine(fake_engine(), None, [], owned_by='my-team').listing()['data'][0]['owned_by'] == \
        'my-team'  # --owned_by, as ms-swift's deploy
    assert named.adapter_for('base') == BASE_ADAPTER and named.adapter_for('b') == 'b'
    # `--adapters checkpoint-N`: the served name is the fine-tuned model
    unnamed = ServedModels.for_engine(fake_engine(['default'], 'default'), 'mine', ['/no/such/checkpoint-2'])
    assert unnamed.names == ['mine'] and unnamed.adapter_for('mine') is None and unnamed.adapter_for('default')
    with pytest.raises(APIError) as caught:
        named.adapter_for('c')
    assert caught.value.status == 404 and 'base, a, b' in caught.value.message
