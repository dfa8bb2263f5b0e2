"""Request bodies to engine settings: vLLM's ignore_eos extension is accepted and carried over."""
from swift.infer.server.schemas import ChatCompletionRequest, GenerationDefaults


def test_ignore_eos_is_carried_to_the_request_config():
    body = ChatCompletionRequest(messages=[{'role': 'user', 'content': 'hi'}], max_tokens=5, ignore_eos=True)
    _, config = body.to_engine(GenerationDefaults(), adapter=None)
    assert config.ignore_eos is True and config.max_tokens == 5
    plain = ChatCompletionRequest(messages=[{'role': 'user', 'content': 'hi'}])
    _, config = plain.to_engine(GenerationDefaults(), None)
    assert config.ignore_eos is False
