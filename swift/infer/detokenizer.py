"""Streaming text out of streaming tokens: whole characters only, and no stop string ever shown."""
from typing import List, Sequence, Tuple

_INCOMPLETE = '\ufffd'  # what tokenizers decode an unfinished UTF-8 sequence to


class IncrementalDecoder:
    """Turns a growing list of token ids into text deltas that never split a multi-byte character.

    Each push decodes only a short window: the tokens since the last emitted delta plus the ones
    before them (`prefix`), so that tokenizers which drop a word's leading space when it starts
    the decoded text (SentencePiece) still produce it. A delta ending in U+FFFD means the token
    stopped inside a UTF-8 sequence; it is held until the next token completes the character.
    """

    def __init__(self, tokenizer, skip_special_tokens: bool = True):
        self.tokenizer = tokenizer
        self.skip_special_tokens = skip_special_tokens
        self.token_ids: List[int] = []
        self.text = ''
        self._prefix = 0  # window start: context tokens already emitted
        self._read = 0  # tokens up to here are emitted

    def _decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=self.skip_special_tokens)

    def push(self, token_id: int) -> str:
        self.token_ids.append(int(token_id))
        return self._advance(final=False)

    def flush(self) -> str:
        """Text still held back (an unfinished character at the very end), emitted as it is."""
        return self._advance(final=True)

    def _advance(self, final: bool) -> str:
        before = self._decode(self.token_ids[self._prefix:self._read])
        after = self._decode(self.token_ids[self._prefix:])
        if len(after) <= len(before) or (after.endswith(_INCOMPLETE) and not final):
            return ''
        delta = after[len(before):]
        self._prefix, self._read = self._read, len(self.token_ids)
        self.text += delta
        return delta


class StopStringMatcher:
    """Finds the first stop string in streamed text, holding back any tail that could begin one.

    feed(delta) → (text that is safe to show now, whether a stop string was reached). After a
    stop, `text` ends right before the stop string, which is never emitted.
    """

    def __init__(self, stop_strings: Sequence[str]):
        self.stops = [s for s in stop_strings if s]
        self.text = ''
        self.emitted = 0  # characters of `text` already handed out
        self.stopped = False

    def feed(self, delta: str) -> Tuple[str, bool]:
        if self.stopped:
            return '', True
        self.text += delta
        if not self.stops:
            return self._emit_until(len(self.text)), False
        # Held-back text always starts at `emitted`, so a stop string cannot begin earlier.
        hits = [i for i in (self.text.find(s, self.emitted) for s in self.stops) if i >= 0]
        if hits:
            cut = min(hits)
            out = self._emit_until(cut)
            self.text = self.text[:cut]
            self.stopped = True
            return out, True
        return self._emit_until(len(self.text) - self._partial_stop_suffix()), False

    def flush(self) -> str:
        """Everything not yet emitted (at the end of generation nothing can complete a stop string)."""
        return self._emit_until(len(self.text))

    def _emit_until(self, end: int) -> str:
        if end <= self.emitted:
            return ''
        out = self.text[self.emitted:end]
        self.emitted = end
        return out

    def _partial_stop_suffix(self) -> int:
        """Length of the longest tail of the unemitted text that is a proper prefix of a stop string."""
        pending = self.text[self.emitted:]
        longest = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(pending)), longest, -1):
                if pending.endswith(stop[:k]):
                    longest = k
                    break
        return longest


def cut_at_stop(text: str, stop_strings: Sequence[str]) -> Tuple[str, bool]:
    """(text before the first stop string, whether one was found)."""
    hits = [i for i in (text.find(s) for s in stop_strings if s) if i >= 0]
    return (text[:min(hits)], True) if hits else (text, False)
