"""`qwen2-audio-tiny`: a tiny random model of Qwen2-Audio's architecture, built on this machine.

No audio-language weights can be downloaded here, so one is assembled once into swift's cache, from a fixed seed:

    audio tower      Qwen2AudioEncoder (Whisper-style: two convolutions, then transformer layers), 2 layers of
                     width 64, 128 mel bins, a 2-second window (100 encoder positions)
    projector        Qwen2-Audio's linear projection into the language model
    language model   a random Qwen2 decoder, 2 layers of width 64
    processor        Qwen2AudioProcessor: a Whisper feature extractor at 16 kHz (2-second window instead of 30),
                     the embedded SmolLM2 tokenizer (it has ChatML's <|im_start|>/<|im_end|>) with Qwen2-Audio's
                     <|AUDIO|>, <|audio_bos|>, <|audio_eos|> added, and Qwen2-Audio-Instruct's chat template

A standard directory that plain transformers loads (Qwen2AudioForConditionalGeneration, AutoProcessor);
`qwen2-audio-tiny` is its registry alias. It knows nothing until trained: it proves the audio pipeline (data →
template → training → inference) on a CPU, in seconds.

    python -m swift.model.tiny_audio          # build (or find) it and print the directory
"""
from pathlib import Path

from swift.utils import atomic_dir

from .embedded import ensure_built, ensure_embedded_model, write_built_marker

QWEN2_AUDIO_TINY_ID = 'swift/qwen2-audio-tiny'
SEED = 1234
BUILD_VERSION = 1  # bump when the recipe changes: the cache directory is rebuilt
SAMPLING_RATE = 16000
WINDOW_S = 2  # the feature extractor's chunk: audio is padded to it (Qwen2-Audio: 30 s)
HOP = 160  # Whisper's hop length: 100 mel frames a second
AUDIO_TOKENS = ['<|AUDIO|>', '<|audio_bos|>', '<|audio_eos|>']


def ensure_qwen2_audio_tiny() -> Path:
    """The built model directory; built on first use (a few seconds)."""
    return ensure_built(QWEN2_AUDIO_TINY_ID, BUILD_VERSION,
                        lambda target: build_qwen2_audio(ensure_embedded_model(), target),
                        f'a random Qwen2-Audio (seed {SEED})')


def build_qwen2_audio(tokenizer_dir: Path, target: Path, *, seed: int = SEED, hidden: int = 64, layers: int = 2,
                      window_s: int = WINDOW_S) -> Path:
    """A Qwen2-Audio model directory with random weights and the tokenizer of `tokenizer_dir`."""
    with atomic_dir(target) as tmp:
        _build(Path(tokenizer_dir), tmp, seed, hidden, layers, window_s)
    return target


def _processor(tokenizer_dir: Path, window_s: int):
    from transformers import AutoTokenizer, Qwen2AudioProcessor, WhisperFeatureExtractor
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    tokenizer.add_special_tokens({'additional_special_tokens': AUDIO_TOKENS})
    extractor = WhisperFeatureExtractor(feature_size=128, sampling_rate=SAMPLING_RATE, hop_length=HOP,
                                        chunk_length=window_s, n_fft=400)
    # chat_template=None: the processor's default, Qwen2-Audio-Instruct's template
    return Qwen2AudioProcessor(extractor, tokenizer)


def _config(tokenizer, hidden: int, layers: int, window_s: int):
    from transformers import Qwen2AudioConfig, Qwen2AudioEncoderConfig, Qwen2Config
    audio = Qwen2AudioEncoderConfig(num_mel_bins=128, encoder_layers=layers, encoder_attention_heads=4,
                                    encoder_ffn_dim=2 * hidden, d_model=hidden,
                                    max_source_positions=window_s * SAMPLING_RATE // HOP // 2)
    text = Qwen2Config(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                       num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                       max_position_embeddings=2048, tie_word_embeddings=True,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id)
    config = Qwen2AudioConfig(audio_config=audio.to_dict(), text_config=text.to_dict(),
                              audio_token_id=tokenizer.convert_tokens_to_ids('<|AUDIO|>'))
    config.tie_word_embeddings = True
    config._name_or_path = QWEN2_AUDIO_TINY_ID
    config.architectures = ['Qwen2AudioForConditionalGeneration']
    return config


def _build(tokenizer_dir: Path, out: Path, seed: int, hidden: int, layers: int, window_s: int) -> None:
    import torch
    from transformers import GenerationConfig, Qwen2AudioForConditionalGeneration
    processor = _processor(tokenizer_dir, window_s)
    tokenizer = processor.tokenizer
    torch.manual_seed(seed)
    model = Qwen2AudioForConditionalGeneration(_config(tokenizer, hidden, layers, window_s))
    stops = [tokenizer.convert_tokens_to_ids(t) for t in ('<|im_end|>', '<|endoftext|>')]
    model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_token_id,
                                               pad_token_id=tokenizer.pad_token_id,
                                               eos_token_id=[t for t in stops if t is not None])
    model.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    write_built_marker(out, QWEN2_AUDIO_TINY_ID, __doc__, seed=seed, hidden=hidden, layers=layers,
                       window_s=window_s, build_version=BUILD_VERSION, tokenizer=str(tokenizer_dir))


if __name__ == '__main__':
    print(ensure_qwen2_audio_tiny())
