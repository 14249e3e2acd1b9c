"""The bibliography's labels in the style of the in-text citations: author-year.

The chapters cite author-year (``bibtex_reference_style: author_year``: "[He et al.,
2016]"), but pybtex's default ``alpha`` labels the list "[HZRS16]", so a reader cannot
match a citation with its entry at a glance. This registers a pybtex label style that
writes the same text as the citation ("Zeiler, 2012", "Glorot and Bengio, 2010", "He et
al., 2016"; a, b suffixes where two works would get one label) and a formatting style,
``nnbook_author_year``, that sorts by author and year (pybtex's ``plain``) and uses it.
_config.yml selects it with ``bibtex_default_style``. Used by the HTML and the PDF.
"""

from __future__ import annotations

import re
from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle

STYLE = "nnbook_author_year"


def _last(person) -> str:
    name = " ".join(person.prelast_names + person.last_names)
    name = re.sub(r"\\['`^\"~=.uvHckbdrt]\s*\{?(\w)\}?", r"\1", name)  # {\'e} -> e
    return name.replace("{", "").replace("}", "")


def author_year(entry) -> str:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_last(p) for p in persons]
    if not names:
        who = entry.fields.get("title", entry.key)[:30]
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(e) for e in entries]
        count, seen = Counter(labels), Counter()
        for label in labels:
            if count[label] > 1:  # two works, one label: 2016a, 2016b
                seen[label] += 1
                label += "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            yield label


class AuthorYearStyle(PlainStyle):
    default_label_style = STYLE


register_plugin("pybtex.style.labels", STYLE, AuthorYearLabelStyle)
register_plugin("pybtex.style.formatting", STYLE, AuthorYearStyle)


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
