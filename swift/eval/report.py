"""The terminal table: one block per benchmark, overall first, then categories and subjects (percent)."""
from typing import Any, Dict, List


def _cell(value: Any) -> str:
    return '-' if value is None else f'{100 * value:.2f}'


def format_table(results: Dict[str, Dict[str, Any]], show_subsets: bool = True) -> str:
    lines: List[str] = []
    for name, result in results.items():
        metrics = [k for k in result['metrics'] if k != 'n']
        labels = [('(overall)', result['metrics'])]
        labels += [(f'[{c}]', v) for c, v in (result.get('categories') or {}).items()]
        if show_subsets and len(result['subsets']) > 1:
            labels += list(result['subsets'].items())
        title = f'{name} ({result["scoring"]}, {result["few_shot_num"]}-shot)'
        width = max(28, len(title), *(len(label) + 2 for label, _ in labels))
        lines.append(f'{title:<{width}} {"n":>6}' + ''.join(f' {m:>16}' for m in metrics))
        for label, values in labels:
            lines.append(f'  {label:<{width - 2}} {values["n"]:>6}' + ''.join(f' {_cell(values.get(m)):>16}'
                                                                              for m in metrics))
        lines.append('')
    lines.append('scores in percent; n = questions scored')
    return '\n'.join(lines)
