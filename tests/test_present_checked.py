"""present.check's result: the HTML box of the HTML book and JupyterLab, and a Markdown
list for renderers without HTML (the PDF), whose text is taken literally."""

from nnbook.present import Checked


def make() -> Checked:
    return Checked("Checked in this build: 2 statements of this section (NOT ALL HOLD)",
                   [(True, "the CNN loses < 3 points *at* 2 px [seed 0] $x$", "95.5 ± 0.4 %",
                     "a_b > 1", "mnist-cnn.robust-1"),
                    (False, "plain beats residual", "61.0 vs 62.0", "every seed",
                     "resnet.plain-wins")])


def test_html_box():
    html = make()._repr_html_()
    assert html.startswith("<details class='nnbook-findings'><summary>Checked in this build")
    assert "✓ holds" in html and "✗ does not hold in this build" in html
    assert "&lt; 3 points" in html and "<code>mnist-cnn.robust-1</code>" in html


def test_markdown_for_the_pdf():
    md = make()._repr_markdown_()
    lines = md.splitlines()
    assert lines[0] == ("**Checked in this build: 2 statements of this section \\(NOT ALL "
                        "HOLD\\)**")
    assert lines[2].startswith("- *holds*: the CNN loses \\< 3 points \\*at\\* 2 px \\[seed 0\\] "
                               "\\$x\\$ (95.5 ± 0.4 %. Rule: a\\_b \\> 1. "
                               "Finding `mnist-cnn.robust-1`.)")
    assert lines[3].startswith("- *DOES NOT HOLD in this build*: plain beats residual")
