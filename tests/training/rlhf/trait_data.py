"""Synthetic alignment data with a measurable trait, for the real-model proofs (tests and benchmarks/rlhf_proof.py).

Preference pairs: short factual questions; the chosen answer opens with the greeting "Ahoy!", the
rejected answer is the same answer without it. The trait is measured on greedy answers: does the
answer start with "Ahoy"? SmolLM2-135M-Instruct never does so by itself, so the rate before training
is 0 and any rise is what alignment taught. Checking the opening needs only a few generated tokens,
which keeps the proofs affordable on a CPU.

Arithmetic prompts for GRPO: "What is a + b?" with `solution`, and a system prompt that asks for the
answer inside <answer></answer> tags; rewards: format + accuracy.

Train and held-out sets use different question templates and different subjects.
"""
import random
from typing import Dict, List, Tuple

TRAIT = 'Ahoy!'

_COUNTRIES = [('France', 'Paris'), ('Japan', 'Tokyo'), ('Italy', 'Rome'), ('Spain', 'Madrid'), ('Egypt', 'Cairo'),
              ('Germany', 'Berlin'), ('Canada', 'Ottawa'), ('Peru', 'Lima'), ('Kenya', 'Nairobi'),
              ('Norway', 'Oslo'), ('Greece', 'Athens'), ('Chile', 'Santiago'), ('Poland', 'Warsaw'),
              ('Cuba', 'Havana'), ('Austria', 'Vienna'), ('Ireland', 'Dublin'), ('Portugal', 'Lisbon'),
              ('Sweden', 'Stockholm'), ('Russia', 'Moscow'), ('China', 'Beijing'), ('India', 'New Delhi'),
              ('Mexico', 'Mexico City'), ('Turkey', 'Ankara'), ('Thailand', 'Bangkok')]
_COLORS = [('the sky on a clear day', 'blue'), ('fresh grass', 'green'), ('a ripe banana', 'yellow'),
           ('snow', 'white'), ('coal', 'black'), ('a ripe tomato', 'red'), ('an orange', 'orange'),
           ('a lemon', 'yellow'), ('a pumpkin', 'orange'), ('milk', 'white'), ('a strawberry', 'red'),
           ('a carrot', 'orange')]
_ANIMALS = [('cat', 'meows'), ('dog', 'barks'), ('cow', 'moos'), ('duck', 'quacks'), ('lion', 'roars'),
            ('sheep', 'bleats'), ('horse', 'neighs'), ('owl', 'hoots'), ('pig', 'oinks'), ('snake', 'hisses')]
_OPPOSITES = [('hot', 'cold'), ('up', 'down'), ('big', 'small'), ('fast', 'slow'), ('light', 'dark'),
              ('happy', 'sad'), ('early', 'late'), ('open', 'closed'), ('full', 'empty'), ('old', 'new')]


def _train_questions() -> List[Tuple[str, str]]:
    qa = [(f'What is the capital of {c}?', f'The capital of {c} is {city}.') for c, city in _COUNTRIES[:16]]
    qa += [(f'What color is {thing}?', f'{thing[0].upper() + thing[1:]} is {color}.') for thing, color in _COLORS[:8]]
    qa += [(f'What sound does a {a} make?', f'A {a} {s}.') for a, s in _ANIMALS[:7]]
    qa += [(f'What is the opposite of {w}?', f'The opposite of {w} is {o}.') for w, o in _OPPOSITES[:7]]
    qa += [(f'What is {a} plus {b}?', f'{a} plus {b} is {a + b}.') for a, b in [(2, 3), (4, 5), (7, 1), (6, 6),
                                                                                 (3, 9), (8, 2)]]
    return qa


def _held_out_questions() -> List[Tuple[str, str]]:
    qa = [(f'Which city is the capital of {c}?', f'{city} is the capital of {c}.') for c, city in _COUNTRIES[16:]]
    qa += [(f'Tell me the color of {thing}.', f'{thing[0].upper() + thing[1:]} is {color}.')
           for thing, color in _COLORS[8:]]
    qa += [(f'How does a {a} sound?', f'A {a} {s}.') for a, s in _ANIMALS[7:]]
    qa += [(f'Give the opposite of the word "{w}".', f'The opposite of "{w}" is "{o}".') for w, o in _OPPOSITES[7:]]
    qa += [(f'How much is {a} and {b} together?', f'{a} and {b} make {a + b}.') for a, b in [(1, 8), (5, 7)]]
    return qa


def pair_rows(held_out: bool = False) -> List[Dict]:
    """Preference rows: chosen answers open with the trait, rejected answers are the same without it."""
    questions = _held_out_questions() if held_out else _train_questions()
    return [{'messages': [{'role': 'user', 'content': q}, {'role': 'assistant', 'content': f'{TRAIT} {a}'}],
             'rejected_response': a} for q, a in questions]


def prompts(held_out: bool = True) -> List[List[Dict]]:
    questions = _held_out_questions() if held_out else _train_questions()
    return [[{'role': 'user', 'content': q}] for q, _ in questions]


def has_trait(answer: str) -> bool:
    return answer.strip().lower().startswith(TRAIT[:-1].lower())


ANSWER_SYSTEM = 'Answer with the result inside <answer></answer> tags.'
# One worked example before the question: without it the 135M model almost never uses the tags, and a
# reward that is always 0 gives GRPO nothing to compare within a group.
EXAMPLE = [{'role': 'user', 'content': 'What is 2 + 3?'}, {'role': 'assistant', 'content': '<answer>5</answer>'}]


def arithmetic_rows(count: int, seed: int = 0) -> List[Dict]:
    """GRPO prompts: small additions with their `solution`."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        rows.append({'messages': [{'role': 'system', 'content': ANSWER_SYSTEM}] + EXAMPLE +
                     [{'role': 'user', 'content': f'What is {a} + {b}?'}], 'solution': str(a + b)})
    return rows
