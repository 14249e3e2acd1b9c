"""Every statement a chapter makes about its measurements holds in this build.

A chapter states a finding with ``nnbook.present.check(view, name)``, which glues
``finding:<view>.<name>`` with its verdict; this test fails on any that does not
hold, naming the chapter and the finding. It also requires that every stated
finding held in every build that the bands were measured from (seeds,
precisions, threads, CPUs): the prose states only robust findings.
"""

import pytest
from glue_bands import PROFILE, ROOT, bands, glued

pytestmark = pytest.mark.book

GLUED = glued(ROOT / "_build")
STATED = {ch: {k.removeprefix("finding:"): v.strip("'\"") for k, v in keys.items()
               if k.startswith("finding:")} for ch, keys in GLUED.items()}


def test_the_chapters_state_findings():
    assert sum(len(v) for v in STATED.values()) >= 20, "run `make book` first"


@pytest.mark.parametrize("chapter", sorted(ch for ch, f in STATED.items() if f))
def test_every_stated_finding_holds(chapter):
    failed = [name for name, verdict in sorted(STATED[chapter].items()) if verdict != "holds"]
    assert not failed, (f"chapter {chapter} ({PROFILE} profile) states findings that do not "
                        f"hold in this build: {', '.join(failed)}")


@pytest.mark.parametrize("chapter", sorted(ch for ch, f in STATED.items() if f))
def test_stated_findings_held_in_every_measured_build(chapter):
    record = bands().get("findings", {})
    weak = [f"{name} (held in {record[name]['held']} of {record[name]['of']})"
            if name in record else f"{name} (never measured)"
            for name in sorted(STATED[chapter])
            if name not in record or record[name]["held"] != record[name]["of"]]
    assert not weak, (f"chapter {chapter} ({PROFILE} profile) states findings that are not "
                      f"robust across seeds, precisions, threads and CPUs: {', '.join(weak)}")
