"""The embedded real SmolLM2-135M-Instruct behind the server: a real answer, and a real engine request
dropped when its client leaves."""
import pytest

from .conftest import httpx, running_server, user


@pytest.fixture(scope='module')
def smollm_engine(smollm_dir):
    from swift.infer.transformers_engine import PtEngine
    engine = PtEngine('smollm2-135m-instruct', max_batch_size=4)
    yield engine
    engine.close()


def test_capital_of_france(smollm_engine):
    with running_server(smollm_engine) as server:
        client = server.client()
        assert [m.id for m in client.models.list().data] == ['smollm2-135m-instruct']
        question = user('What is the capital of France?')
        answer = client.chat.completions.create(model='smollm2-135m-instruct', messages=question, max_tokens=20)
        assert 'Paris' in answer.choices[0].message.content and answer.choices[0].finish_reason == 'stop'
        streamed = client.chat.completions.create(model='smollm2-135m-instruct', messages=question, max_tokens=20,
                                                  stream=True)
        assert ''.join(c.choices[0].delta.content or '' for c in streamed if c.choices) == \
            answer.choices[0].message.content


def test_disconnect_drops_the_engine_request(smollm_engine):
    with running_server(smollm_engine, max_running=1) as server:
        before = smollm_engine.stats()
        body = {'model': 'smollm2-135m-instruct', 'prompt': '1, 2, 3, 4, 5, 6,', 'max_tokens': 1500, 'stream': True}
        with httpx.stream('POST', server.url + '/v1/completions', json=body, timeout=60) as response:
            lines = response.iter_lines()
            received = [line for line, _ in zip(lines, range(8))]
            assert any(line.startswith('data: {') for line in received)
            assert smollm_engine.stats()['running_requests'] == 1
        # a generous deadline (a loaded machine): what proves the drop is the count below, not the time
        assert server.wait_until(lambda: smollm_engine.stats()['running_requests'] == 0, timeout=120)
        assert server.state.admission.running == 0
        after = smollm_engine.stats()
        assert after['finished_requests'] == before['finished_requests']  # cancelled, not run to the end
        assert after['generated_tokens'] - before['generated_tokens'] < 1500
