"""`make binder-check`: the Binder launch, simulated on this machine (a few minutes).

1. **The image**: a virtual environment ``_build/binder-venv`` (Python 3.11, as
   ``binder/runtime.txt`` asks) with repo2docker's base environment
   (``tests/binder_base.txt``: JupyterLab 4.4.9, notebook 7.4.7, ...), then
   ``binder/requirements.txt`` installed on top from the repository root, then
   ``binder/postBuild``, in repo2docker's order, with ``HOME`` a fresh folder (Binder's
   ``/home/jovyan``). When the CPU-wheel index (download.pytorch.org) cannot be reached,
   torch and torchvision of the same versions come from the default index, and it says so.
   The environment is kept and reused while none of the files it was built from changed.
2. **The launch**: JupyterLab started through ``binder/start`` on 127.0.0.1, with an empty
   result cache, so every cell trains for real, as on a fresh Binder.
3. **The reader**: headless Chromium (the driver of ``tests/test_browser.py``) opens each
   chapter's launch URL (``/lab/tree/book/<chapter>.md``, what the book's Binder button
   opens), checks that it opened as a notebook (not the text editor), runs all cells with
   JupyterLab's own "Run All" command and checks that every code cell ran without an
   error, that the markdown cells were rendered by jupyterlab-myst and that the chapter's
   first cell shows the note that explains the glued numbers. Screenshots and a
   ``report.json`` go to ``_build/binder-check/``.

The chapters: ``rings`` and ``convolution``, the two whose every cell runs in well under
a minute on one core without a cache (the CNN chapters train for minutes) and which
between them show the notebook's figures, math, tables and a training loop.

Exit status 0 when every check passed, 1 otherwise (each failure printed on one line).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_browser import CDPError, Chromium, chromium_binary  # noqa: E402

BUILD = ROOT / "_build"
VENV = BUILD / "binder-venv"
OUT = BUILD / "binder-check"
BASE = ROOT / "tests" / "binder_base.txt"
BINDER = ROOT / "binder"
CHAPTERS = ("rings", "convolution")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
VIEWPORT = (1400, 1000)
CHAPTER_TIMEOUT = 900  # s for one chapter's Run All


def say(msg: str) -> None:
    print(f"binder-check: {msg}", flush=True)


def run(cmd: list[str], log: Path, **kw) -> None:
    t0 = time.monotonic()
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, **kw)
    if proc.returncode:
        tail = log.read_text().splitlines()[-15:]
        raise SystemExit("binder-check: failed: " + " ".join(cmd) + f" (exit {proc.returncode}; "
                         f"{log}):\n  " + "\n  ".join(tail))
    say(f"  {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))[:110]} "
        f"({time.monotonic() - t0:.0f} s)")


def reachable(url: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


PACKAGE_INPUTS = (BASE, BINDER / "requirements.txt", BINDER / "runtime.txt",
                  ROOT / "requirements.txt", ROOT / "pyproject.toml")


def post_build(env: dict, log: Path) -> None:
    """binder/postBuild, from the repository root, into a fresh home folder."""
    shutil.rmtree(env["HOME"], ignore_errors=True)
    Path(env["HOME"]).mkdir(parents=True)
    say("3/3 binder/postBuild")
    run([str(BINDER / "postBuild")], log, env=env, cwd=ROOT)
    (VENV / ".binder-postbuild").write_text(digest(BINDER / "postBuild"))


def build_env(env: dict) -> dict:
    """The simulated image (the venv, and its home folder as postBuild left it); returns
    what it did (for the report). The packages are reinstalled when a file they come from
    changed; postBuild alone is re-run (into a fresh home) when only it changed."""
    info: dict = {"venv": str(VENV)}
    log = OUT / "build.log"
    stamp = VENV / ".binder-packages"
    if stamp.is_file() and stamp.read_text() == digest(*PACKAGE_INPUTS) \
            and (VENV / "bin" / "jupyter").exists():
        info["reused"] = True
        info["torch_from"] = (VENV / ".torch-from").read_text()
        post = VENV / ".binder-postbuild"
        if post.is_file() and post.read_text() == digest(BINDER / "postBuild"):
            say(f"environment {VENV} is up to date (built from the same files); reusing it")
        else:
            say(f"packages in {VENV} are up to date; binder/postBuild changed: re-running it")
            log.write_text("")
            post_build(env, log)
        return info
    t0 = time.monotonic()
    shutil.rmtree(VENV, ignore_errors=True)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    want = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    python = shutil.which(f"python{want}") or sys.executable
    say(f"building the image's environment in {VENV} (Python {want}: {python}; log {log})")
    run([python, "-m", "venv", str(VENV)], log)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]
    say("1/3 repo2docker's base environment (tests/binder_base.txt)")
    run(pip + ["-r", str(BASE)], log, env=env)
    reqs = BINDER / "requirements.txt"
    if reachable(CPU_INDEX + "/torch/"):
        info["torch_from"] = f"the CPU-wheel index {CPU_INDEX}"
    else:
        # the same versions from the default index (here: pip's local wheels), without
        # the unreachable index, which pip would otherwise retry for minutes
        say(f"the CPU-wheel index {CPU_INDEX} cannot be reached: torch and torchvision of "
            "the same versions come from the default index instead (on Binder: the +cpu "
            "wheels)")
        info["torch_from"] = "the default index (the CPU-wheel index was unreachable)"
        lines = []
        for line in reqs.read_text().splitlines():
            s = line.strip()
            if s.startswith("--extra-index-url") and "download.pytorch.org" in s:
                continue
            if s.startswith(("torch==", "torchvision==")):
                line = s.split("+cpu")[0]
            if s.startswith("-r "):
                line = "-r " + str((BINDER / s[3:].strip()).resolve())
            lines.append(line)
        reqs = OUT / "requirements-default-index.txt"
        reqs.write_text("\n".join(lines) + "\n")
    say("2/3 binder/requirements.txt, from the repository root (as repo2docker does)")
    run(pip + ["-r", str(reqs)], log, env=env, cwd=ROOT)
    (VENV / ".torch-from").write_text(info["torch_from"])
    stamp.write_text(digest(*PACKAGE_INPUTS))
    post_build(env, log)
    info["reused"] = False
    info["build_seconds"] = round(time.monotonic() - t0, 1)
    say(f"environment built in {info['build_seconds']:.0f} s")
    return info


def versions(env: dict) -> dict:
    code = ("import json, importlib.metadata as m; print(json.dumps({p: m.version(p) for p in "
            "['jupyterlab', 'notebook', 'jupyter_server', 'jupytext', 'jupyterlab_myst', "
            "'ipywidgets', 'torch', 'nnbook']}))")
    out = subprocess.run([str(VENV / "bin" / "python"), "-c", code], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(env: dict, token: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(OUT / "jupyterlab.log", "w")  # noqa: SIM115 (lives as long as the server)
    cmd = [str(BINDER / "start"), "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.open_browser=False"]
    if os.geteuid() == 0:  # Binder runs as jovyan; a CI container may be root
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"binder-check: JupyterLab exited ({proc.returncode}); see "
                             f"{OUT / 'jupyterlab.log'}")
        if reachable(f"{url}/api/status?token={token}", timeout=2):
            return proc, url
        time.sleep(0.5)
    raise SystemExit("binder-check: JupyterLab did not answer within 120 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # our own process group only
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


# --- in the page ---------------------------------------------------------------------------

OPENED_JS = r"""(() => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return {ready: false};
  const w = app.shell.currentWidget;
  if (!w) return {ready: false};
  const path = w.context ? w.context.path : null;
  return {ready: !!path, path,
          notebook: !!(w.content && w.content.model && w.content.model.cells),
          editor: !!w.node.querySelector('.jp-FileEditor'), title: w.title.label,
          classes: w.node.className};
})()"""

RUN_ALL_JS = r"""(async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.sessionContext.ready;
  const t0 = performance.now();
  await app.commands.execute('notebook:run-all-cells');
  return {kernel: panel.sessionContext.kernelDisplayName, started_ms: performance.now() - t0};
})()"""

STATE_JS = r"""(() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const nb = panel.content;
  const cells = [];
  for (let i = 0; i < nb.widgets.length; i++) {
    const c = nb.widgets[i], m = c.model;
    if (m.type !== 'code') {
      if (m.type === 'markdown') cells.push({type: 'markdown',
        myst: !!c.node.querySelector('.myst, .jp-MystMarkdown, [class*="myst"]')});
      continue;
    }
    const outs = m.outputs.toJSON();
    cells.push({type: 'code', count: m.executionCount,
      running: c.node.querySelector('.jp-InputPrompt').textContent.includes('*'),
      errors: outs.filter(o => o.output_type === 'error')
                  .map(o => o.ename + ': ' + String(o.evalue).slice(0, 200)),
      mimes: outs.flatMap(o => o.data ? Object.keys(o.data)
                                      : [o.output_type + ':' + (o.name || '')]),
      text: outs.map(o => (o.text || '') + (o.data && o.data['text/html'] || ''))
                .join('').slice(0, 4000)});
  }
  return {status: panel.sessionContext.session && panel.sessionContext.session.kernel
            ? panel.sessionContext.session.kernel.status : 'none', cells};
})()"""


def scroll_to(b: Chromium, session: str, index_js: str) -> None:
    from test_browser import FRAMES_JS, evaluate

    evaluate(b, session, f"""(() => {{
      const nb = window.jupyterapp.shell.currentWidget.content;
      const i = ({index_js})(nb);
      nb.activeCellIndex = Math.max(0, i);
      nb.widgets[Math.max(0, i)].node.scrollIntoView({{block: 'start'}});
    }})()""")
    time.sleep(1.0)
    evaluate(b, session, FRAMES_JS)


def shot(b: Chromium, session: str, path: Path) -> None:
    import base64

    data = b.send("Page.captureScreenshot", {"format": "png"}, session=session, timeout=60)
    path.write_bytes(base64.b64decode(data["data"]))
    say(f"  screenshot {path.relative_to(ROOT)}")


def check_chapter(b: Chromium, lab: str, token: str, chapter: str) -> dict:
    from test_browser import evaluate, problems_from_events

    rec: dict = {"chapter": chapter, "url": f"{lab}/lab/tree/book/{chapter}.md"}
    failures: list[str] = []
    t0 = time.monotonic()
    target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    first = len(b.events)
    try:
        for domain in ("Page", "Runtime", "Log"):
            b.send(f"{domain}.enable", session=session)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1,
                "mobile": False}, session=session)
        b.send("Page.navigate", {"url": f"{rec['url']}?token={token}"}, session=session)
        opened = {}
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                opened = evaluate(b, session, OPENED_JS, timeout=10) or {}
            except CDPError:
                opened = {}
            if opened.get("ready") and opened.get("path") == f"book/{chapter}.md" and (
                    opened.get("notebook") or opened.get("editor")):
                break
            b.pump(0.5)
        rec["opened"] = opened
        rec["open_seconds"] = round(time.monotonic() - t0, 1)
        if not opened.get("notebook"):
            failures.append(f"{chapter}: the launch URL did not open a notebook "
                            f"(opened: {opened.get('classes') or 'nothing'})")
            shot(b, session, OUT / f"{chapter}-opened.png")
            return {**rec, "failures": failures}
        say(f"{chapter}: opened as a notebook in {rec['open_seconds']:.0f} s; Run All")
        t1 = time.monotonic()
        rec["run_all"] = evaluate(b, session, RUN_ALL_JS, timeout=CHAPTER_TIMEOUT)
        state: dict = {}
        while time.monotonic() - t1 < CHAPTER_TIMEOUT:
            state = evaluate(b, session, STATE_JS, timeout=30)
            code = [c for c in state["cells"] if c["type"] == "code"]
            if (state["status"] == "idle" and code and all(c["count"] for c in code)
                    and not any(c["running"] for c in code)):
                break
            b.pump(2.0)
        rec["run_seconds"] = round(time.monotonic() - t1, 1)
        code = [c for c in state.get("cells", []) if c["type"] == "code"]
        md = [c for c in state.get("cells", []) if c["type"] == "markdown"]
        ran = [c for c in code if c["count"]]
        errors = [e for c in code for e in c["errors"]]
        rec.update(code_cells=len(code), cells_run=len(ran), errors=errors,
                   markdown_cells=len(md), markdown_rendered_by_myst=sum(c["myst"] for c in md),
                   images=sum("image/png" in c["mimes"] for c in code),
                   progress_widgets=sum("application/vnd.jupyter.widget-view+json" in c["mimes"]
                                        for c in code),
                   glue_note="nnbook-glue-note" in (code[0]["text"] if code else ""))
        say(f"{chapter}: {len(ran)} of {len(code)} code cells ran in {rec['run_seconds']:.0f} s, "
            f"{len(errors)} errors, {rec['images']} with figures; "
            f"{rec['markdown_rendered_by_myst']} of {len(md)} markdown cells rendered by MyST; "
            f"progress widgets in {rec['progress_widgets']} cells")
        if not code or len(ran) != len(code):
            failures.append(f"{chapter}: {len(ran)} of {len(code)} code cells ran "
                            f"(within {CHAPTER_TIMEOUT} s)")
        if errors:
            failures.append(f"{chapter}: cells failed: {errors}")
        flooded = [i for i, c in enumerate(code)
                   if "IOPub" in c["text"] and "exceeded" in c["text"]]
        rec["iopub_flooded_cells"] = flooded
        if flooded:
            failures.append(f"{chapter}: code cells {flooded} flooded the notebook (IOPub message "
                            "rate exceeded: outputs were dropped)")
        if md and rec["markdown_rendered_by_myst"] == 0:
            failures.append(f"{chapter}: no markdown cell was rendered by jupyterlab-myst")
        if not rec["glue_note"]:
            failures.append(f"{chapter}: the first cell does not show the glued-numbers note")
        # photographs: the top (title, first cell and its note), the first figure
        scroll_to(b, session, "nb => 0")
        shot(b, session, OUT / f"{chapter}-top.png")
        scroll_to(b, session, "nb => nb.widgets.findIndex(w => w.model.type === 'code' && "
                              "w.node.querySelector('.jp-OutputArea-output img'))")
        shot(b, session, OUT / f"{chapter}-figure.png")
        scroll_to(b, session, "nb => nb.widgets.map(w => w.model.type).lastIndexOf('code')")
        shot(b, session, OUT / f"{chapter}-last-code-cell.png")
        errors_console, _, _ = problems_from_events(
            [e for e in b.events[first:] if e.get("sessionId") == session])
        rec["console_errors"] = errors_console[:20]
    finally:
        try:
            b.send("Target.closeTarget", {"targetId": target}, timeout=10)
        except CDPError:
            pass
    rec["failures"] = failures
    return rec


def main() -> int:
    t_start = time.monotonic()
    OUT.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NNBOOK_", "VIRTUAL_ENV", "PYTHON", "JUPYTER"))}
    env.update(HOME=str(VENV / "home"), PATH=f"{VENV / 'bin'}:{os.environ.get('PATH', '')}",
               VIRTUAL_ENV=str(VENV))
    report: dict = {"chapters": {}}
    failures: list[str] = []
    lab_proc = browser = None
    home = Path(tempfile.mkdtemp(prefix="binder-home-", dir=BUILD))
    try:
        report["environment"] = build_env(env)
        # each launch starts from the image's home (Binder's /home/jovyan as postBuild left
        # it), with an empty result cache
        shutil.copytree(VENV / "home", home, dirs_exist_ok=True)
        env.update(HOME=str(home), NNBOOK_CACHE=str(home / ".cache" / "nnbook" / "results"))
        report["versions"] = versions(env)
        say("versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
        binary = chromium_binary()
        if binary is None:
            raise SystemExit("binder-check: Chromium not found: run `make browser` or set "
                             "NNBOOK_CHROMIUM")
        token = secrets.token_hex(16)
        t0 = time.monotonic()
        lab_proc, lab = start_lab(env, token)
        say(f"JupyterLab answers at {lab} after {time.monotonic() - t0:.0f} s "
            f"(HOME={home}, empty result cache: every cell computes)")
        browser = Chromium(binary, OUT / "chromium.log")
        for chapter in CHAPTERS:
            rec = check_chapter(browser, lab, token, chapter)
            report["chapters"][chapter] = rec
            failures += rec["failures"]
    finally:
        if browser is not None:
            browser.close()
        if lab_proc is not None:
            stop(lab_proc)
        report["total_seconds"] = round(time.monotonic() - t_start, 1)
        report["failures"] = failures
        (OUT / "report.json").write_text(json.dumps(report, indent=2))
        shutil.rmtree(home, ignore_errors=True)
    for f in failures:
        print(f"binder-check: FAIL {f}")
    say(f"{'passed' if not failures else 'FAILED'} in {report['total_seconds']:.0f} s; "
        f"screenshots and report.json in {OUT.relative_to(ROOT)}/")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
