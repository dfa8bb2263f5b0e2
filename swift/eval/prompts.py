"""Prompt assembly, as the reference harness writes it.

Plain text (the default, for base and instruct models alike):

    <description><shot 1 query> <shot 1 answer>\\n\\n ... <shot k query> <shot k answer>\\n\\n<query>

and each choice is scored as the continuation " <choice>". With a chat template the few-shot
examples become user/assistant turns (the description opens the first user turn), the choice is
scored as the start of the assistant's reply, without the leading space.
"""
from typing import Dict, List, Sequence

from .registry import Doc

TARGET_DELIMITER = ' '
FEWSHOT_DELIMITER = '\n\n'
LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'


def text_context(description: str, shots: Sequence[Doc], doc: Doc) -> str:
    examples = ''.join(shot.query + TARGET_DELIMITER + shot.target + FEWSHOT_DELIMITER for shot in shots)
    return description + examples + doc.query


def chat_messages(description: str, shots: Sequence[Doc], doc: Doc) -> List[Dict[str, str]]:
    messages: List[Dict[str, str]] = []
    for shot in shots:
        messages.append({'role': 'user', 'content': shot.query})
        messages.append({'role': 'assistant', 'content': shot.target})
    messages.append({'role': 'user', 'content': doc.query})
    messages[0] = {'role': 'user', 'content': description + messages[0]['content']}
    return messages


def continuation(choice: str, chat: bool) -> str:
    return choice if chat else TARGET_DELIMITER + choice


def lettered(doc: Doc) -> Doc:
    """The question with its choices listed as A., B., ... and a letter as the answer.

    For scoring multiple choice by generated text (a server without log-probabilities): exam
    questions already read this way; ARC and HellaSwag choices are listed under the question.
    """
    letters = list(LETTERS[:len(doc.choices)])
    if doc.choices == letters:
        return doc
    body = doc.query[:-len('Answer:')].rstrip() if doc.query.endswith('Answer:') else doc.query
    options = ''.join(f'\n{letter}. {choice}' for letter, choice in zip(letters, doc.choices))
    return Doc(id=doc.id, subset=doc.subset, query=f'{body}{options}\nAnswer:', choices=letters, gold=doc.gold,
               target=letters[doc.gold], row=doc.row)
