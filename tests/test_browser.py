"""The built book in a real browser: headless Chromium over every page (`make html`).

Debian's ``chromium`` (installed by ``make browser``) is driven through the
Chrome DevTools Protocol over ``--remote-debugging-pipe`` (standard library
only; no debugging port), with the network off: every host name but
127.0.0.1 fails to resolve, and any request that leaves 127.0.0.1 fails the
test. The book is served from ``_build/html`` by a local HTTP server on
127.0.0.1. For every page: it loads, MathJax (the book's own copy) typesets
every formula without TeX errors, every image loads with a non-zero size,
figures are opaque (legible on the dark theme), nothing fails to load and the
console shows no error. Each page is photographed in the light and the dark
theme under ``_build/screenshots/`` (``report.json`` there has the timings).

``NNBOOK_HTML`` points the test at another built site (default ``_build/html``),
``NNBOOK_CHROMIUM`` at another Chromium binary.
"""

from __future__ import annotations

import base64
import fcntl
import functools
import http.server
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.book, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("NNBOOK_HTML", ROOT / "_build" / "html")).resolve()
SHOTS = HTML.parent / "screenshots"
MATHJAX_VERSION = "3.2.2"  # book/_ext/nnbook_reader.py serves this release
VIEWPORT = (1280, 900)
MAX_SHOT_HEIGHT = 16000  # px; longer pages are cut (the report says so)
NOT_PAGES = {"_static", "_sources", "_images", "mathjax", "reports", "_downloads"}
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-dev-shm-usage", "--disable-extensions", "--disable-default-apps",
    "--no-default-browser-check", "--mute-audio", "--hide-scrollbars",
    "--force-color-profile=srgb", "--remote-debugging-pipe",
    # network off: no name resolves except the local server's address
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
]


def built_pages() -> list[str]:
    if not HTML.is_dir():
        return []
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if not NOT_PAGES & set(p.relative_to(HTML).parts[:-1]))


def chromium_binary() -> str | None:
    for cand in (os.environ.get("NNBOOK_CHROMIUM"), "/usr/lib/chromium/chromium",
                 shutil.which("chromium"), shutil.which("chromium-browser")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


class CDPError(RuntimeError):
    pass


def _high_fds(*fds: int) -> list[int]:
    """The same pipe ends moved to fds >= 10, so that none of them is 3 or 4 itself."""
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds]
    for fd in fds:
        os.close(fd)
    return moved


class Chromium:
    """A headless Chromium spoken to over the DevTools pipe (fd 3 in, fd 4 out)."""

    def __init__(self, binary: str, log_path: Path):
        self.profile = tempfile.mkdtemp(prefix="nnbook-chromium-")
        to_child_r, self._w = _high_fds(*os.pipe())
        self._r, from_child_w = _high_fds(*os.pipe())
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in close())
        # bash puts the two pipe ends on fds 3 and 4 (sh cannot name fds above 9), then
        # becomes chromium
        r, w = to_child_r, from_child_w
        script = f'exec "$0" "$@" 3<&{r} 4>&{w} {r}<&- {w}>&-'
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", script, binary, *FLAGS, f"--user-data-dir={self.profile}",
             "about:blank"],
            pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=self._log, start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._pending: list[dict] = []
        self._next_id = 0
        self.events: list[dict] = []
        try:
            self.version = self.send("Browser.getVersion", timeout=60)["product"]
        except (CDPError, OSError):
            self.close()
            raise

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self._r], [], [], max(0.0, timeout))
        if not ready:
            return
        chunk = os.read(self._r, 1 << 20)
        if not chunk:
            raise CDPError(f"chromium exited (status {self.proc.poll()}); see {self._log.name}")
        self._buf += chunk
        while b"\0" in self._buf:
            raw, self._buf = self._buf.split(b"\0", 1)
            self._pending.append(json.loads(raw))

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 30.0) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._w, data):]
        deadline = time.monotonic() + timeout
        while True:
            for m in self._drain():
                if m.get("id") == self._next_id:
                    if "error" in m:
                        raise CDPError(f"{method}: {m['error'].get('message')}")
                    return m.get("result", {})
            if time.monotonic() > deadline:
                raise CDPError(f"{method}: no answer within {timeout:.0f} s")
            self._read(deadline - time.monotonic())

    def _drain(self) -> list[dict]:
        out, self._pending = self._pending, []
        answers = []
        for m in out:
            (answers if "id" in m else self.events).append(m)
        return answers

    def wait_event(self, method: str, session: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            self._drain()
            for ev in self.events[seen:]:
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return ev
            seen = len(self.events)
            if time.monotonic() > deadline:
                raise CDPError(f"no {method} within {timeout:.0f} s")
            self._read(min(0.2, deadline - time.monotonic()))

    def pump(self, seconds: float) -> None:
        """Collect events for a while (late console messages, failed loads)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        self._drain()

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (CDPError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # our own process group only
            self.proc.wait(timeout=10)
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def server():
    assert (HTML / "index.html").is_file(), f"no built book in {HTML}: run `make book` first"
    handler = functools.partial(QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def report():
    SHOTS.mkdir(parents=True, exist_ok=True)
    data: dict = {"pages": {}}
    t0 = time.monotonic()
    yield data
    data["total_seconds"] = round(time.monotonic() - t0, 2)
    (SHOTS / "report.json").write_text(json.dumps(data, indent=2))


@pytest.fixture(scope="module")
def browser(report):
    binary = chromium_binary()
    if binary is None:
        pytest.fail("Chromium not found: run `make browser` (installs Debian's chromium) "
                    "or set NNBOOK_CHROMIUM")
    t0 = time.monotonic()
    b = Chromium(binary, SHOTS / "chromium.log")
    report["browser"] = b.version
    report["startup_seconds"] = round(time.monotonic() - t0, 2)
    yield b
    b.close()


# --- what runs inside the page ------------------------------------------------------------

SETTLE_JS = "[location.href, document.readyState]"
TITLE_JS = "[...document.querySelectorAll('h1')].map(h => h.textContent.trim()).find(Boolean) || ''"

MATH_JS = r"""(async () => {
  const maths = [...document.querySelectorAll('.math')];
  const main = document.querySelector('main') || document.body;
  const prose = main.cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, mjx-container, .highlight')
       .forEach(e => e.remove());
  const raw = /\\\(|\\\[/.test(prose.textContent);
  if (!maths.length) return {n: 0, raw};
  const t0 = performance.now();
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    if (performance.now() - t0 > 20000) return {n: maths.length, error: 'MathJax never started'};
    await new Promise(r => setTimeout(r, 50));
  }
  await MathJax.startup.promise;
  const clean = main.cloneNode(true);
  clean.querySelectorAll('pre, code, script, style, mjx-container, .highlight')
       .forEach(e => e.remove());
  return {
    n: maths.length,
    version: MathJax.version,
    untypeset: maths.filter(m => !m.querySelector('mjx-container'))
                    .map(m => m.textContent.trim().slice(0, 80)),
    errors: [...document.querySelectorAll('mjx-merror')]
              .map(e => e.getAttribute('data-mjx-error') || e.textContent),
    undefined_macros: [...document.querySelectorAll('mjx-container mtext[mathcolor="red"]')]
              .map(e => e.textContent).filter(t => t.startsWith('\\')),
    raw: /\\\(|\\\[/.test(clean.textContent),
  };
})()"""

IMAGES_JS = r"""(async () => {
  const imgs = [...document.querySelectorAll('img')];
  imgs.forEach(im => { im.loading = 'eager'; });
  const settle = im => Promise.race([
    im.decode().then(() => true, () => false),
    new Promise(r => setTimeout(() => r(false), 15000))]);
  const out = [];
  for (const im of imgs) {
    const ok = await settle(im);
    const src = im.currentSrc || im.src;
    const rec = {src, ok, w: im.naturalWidth, h: im.naturalHeight,
                 content: !!im.closest('article, .bd-article, main .cell_output')};
    if (ok && rec.w && /\.png$/i.test(new URL(src).pathname)) {
      const c = document.createElement('canvas');
      c.width = rec.w; c.height = rec.h;
      const ctx = c.getContext('2d');
      ctx.drawImage(im, 0, 0);
      const d = ctx.getImageData(0, 0, rec.w, rec.h).data;
      let t = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] < 250) t++;
      rec.transparent = t / (d.length / 4);
    }
    out.push(rec);
  }
  return out;
})()"""

COPY_JS = ("document.querySelectorAll('div.highlight').length + ' ' + "
           "document.querySelectorAll('button.copybtn').length")

# Sidebars slide in with a CSS transition whenever the viewport changes; a screenshot
# would catch them half-way, so the photographed page has no transitions.
STILL_JS = """(() => {
  const style = document.createElement('style');
  style.textContent = '*, *::before, *::after { transition: none !important; ' +
                      'animation: none !important; }';
  document.head.appendChild(style);
})()"""
FRAMES_JS = """new Promise(r => requestAnimationFrame(() => requestAnimationFrame(
  () => setTimeout(r, 100))))"""

DARK_JS = """(() => {
  localStorage.setItem('theme', 'dark');
  document.documentElement.dataset.mode = 'dark';
  document.documentElement.dataset.theme = 'dark';
  return getComputedStyle(document.body).backgroundColor;
})()"""


def evaluate(b: Chromium, session: str, expr: str, timeout: float = 30.0):
    res = b.send("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                      "returnByValue": True, "timeout": timeout * 1000},
                 session=session, timeout=timeout + 5)
    if "exceptionDetails" in res:
        raise CDPError(f"page script failed: {res['exceptionDetails'].get('text')} "
                       f"{res['exceptionDetails'].get('exception', {}).get('description', '')}")
    return res["result"].get("value")


def set_viewport(b: Chromium, session: str, height: int) -> None:
    b.send("Emulation.setDeviceMetricsOverride",
           {"width": VIEWPORT[0], "height": height, "deviceScaleFactor": 1, "mobile": False},
           session=session)


def screenshot(b: Chromium, session: str, path: Path) -> int:
    """The whole page (up to MAX_SHOT_HEIGHT), laid out in a viewport as tall as the page."""
    metrics = b.send("Page.getLayoutMetrics", session=session)
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    height = int(min(max(size["height"], VIEWPORT[1]), MAX_SHOT_HEIGHT))
    set_viewport(b, session, height)
    evaluate(b, session, FRAMES_JS)  # let the new layout paint
    shot = b.send("Page.captureScreenshot", {"format": "png"}, session=session, timeout=60)
    set_viewport(b, session, VIEWPORT[1])
    path.write_bytes(base64.b64decode(shot["data"]))
    return int(size["height"])


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"


def problems_from_events(events: list[dict]) -> tuple[list[str], list[str], int]:
    """Console errors, failed or external loads, and the main document's status."""
    errors, loads, status = [], [], 0
    for ev in events:
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            errors.append(f"exception: {d.get('exception', {}).get('description') or d['text']}")
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append("console.error: " + " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            url = p["entry"].get("url", "")
            if not url.endswith("/favicon.ico"):  # the browser asks for it, not the page
                errors.append(f"log: {p['entry']['text']} {url}")
        elif method == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if not is_local(url):
                loads.append(f"request leaves the machine: {url}")
        elif method == "Network.responseReceived":
            url, code = p["response"]["url"], p["response"]["status"]
            if p.get("type") == "Document" and not status:
                status = code
            if code >= 400 and not url.endswith("/favicon.ico"):
                loads.append(f"HTTP {code}: {url}")
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            loads.append(f"failed: {p.get('errorText')} ({p.get('type')})")
    return errors, loads, status


PAGES = built_pages()


def test_there_are_pages_to_check():
    assert PAGES, f"no built pages under {HTML}: run `make book` first"


@pytest.mark.parametrize("page", PAGES)
def test_page_in_browser(page, server, browser, report):
    b = browser
    t0 = time.monotonic()
    target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    first_event = len(b.events)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.send(f"{domain}.enable", session=session)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1,
                "mobile": False}, session=session)
        b.send("Emulation.setEmulatedMedia",
               {"features": [{"name": "prefers-color-scheme", "value": "light"}]},
               session=session)
        nav = b.send("Page.navigate", {"url": f"{server}/{page}"}, session=session)
        assert "errorText" not in nav, f"{page}: navigation failed: {nav['errorText']}"
        b.wait_event("Page.loadEventFired", session, timeout=30)
        # follow a redirect (index.html) until the URL and the document settle
        last, stable = None, 0
        for _ in range(100):
            try:
                state = evaluate(b, session, SETTLE_JS, timeout=5)
            except CDPError:  # the context went away mid-navigation
                state = None
            stable = stable + 1 if state == last and state and state[1] == "complete" else 0
            if stable >= 2:
                break
            last = state
            b.pump(0.1)
        final_url = last[0] if last else "?"
        title = evaluate(b, session, TITLE_JS)
        math = evaluate(b, session, MATH_JS, timeout=40)
        images = evaluate(b, session, IMAGES_JS, timeout=60)
        code_blocks, copy_buttons = map(int, evaluate(b, session, COPY_JS).split())
        b.pump(0.3)
        loaded = time.monotonic() - t0

        name = page.removesuffix(".html").replace("/", "-")
        evaluate(b, session, STILL_JS)
        height = screenshot(b, session, SHOTS / f"{name}.png")
        b.send("Emulation.setEmulatedMedia",
               {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
               session=session)
        dark_bg = evaluate(b, session, DARK_JS)
        evaluate(b, session, FRAMES_JS)
        screenshot(b, session, SHOTS / f"{name}-dark.png")

        errors, loads, status = problems_from_events(
            [e for e in b.events[first_event:] if e.get("sessionId") == session])
    finally:
        try:
            b.send("Target.closeTarget", {"targetId": target}, timeout=10)
        except CDPError:
            pass
    del b.events[first_event:]  # keep memory flat over many pages

    figures = [im for im in images if im["content"]]
    report["pages"][page] = {
        "url": final_url, "title": title.strip(), "seconds": round(time.monotonic() - t0, 2),
        "load_and_checks_seconds": round(loaded, 2), "page_height_px": height,
        "math_elements": math.get("n", 0), "mathjax": math.get("version"),
        "images": len(images), "figures": len(figures), "code_blocks": code_blocks,
        "copy_buttons": copy_buttons, "dark_background": dark_bg,
        "screenshot_cut": height > MAX_SHOT_HEIGHT,
    }

    assert status == 200, f"{page}: main document answered HTTP {status}"
    assert title.strip(), f"{page}: no <h1> on the page"
    assert not loads, f"{page}: resources failed or left the machine: {loads}"
    assert not errors, f"{page}: console errors: {errors}"
    if math.get("n"):
        assert not math.get("error"), f"{page}: {math.get('error')}"
        assert math["version"] == MATHJAX_VERSION, f"{page}: MathJax {math['version']} loaded"
        assert not math["untypeset"], f"{page}: math left untypeset: {math['untypeset']}"
        assert not math["errors"], f"{page}: TeX errors: {math['errors']}"
        assert not math["undefined_macros"], \
            f"{page}: undefined TeX macros: {math['undefined_macros']}"
    assert not math.get("raw"), f"{page}: raw \\( or \\[ left in the text (math not typeset)"
    bad = [im["src"] for im in images if not im["ok"] or (im["content"] and not im["w"] * im["h"])]
    assert not bad, f"{page}: images that did not load or have no size: {bad}"
    see_through = [f"{im['src']} ({100 * im['transparent']:.1f}% transparent)" for im in figures
                   if im.get("transparent", 0) > 0.01]
    assert not see_through, (f"{page}: figures with a transparent background vanish on the dark "
                             f"theme (call nnbook.plots.use_style()): {see_through}")
    assert copy_buttons >= code_blocks, \
        f"{page}: {code_blocks} code blocks but {copy_buttons} copy buttons"
    assert dark_bg not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), \
        f"{page}: the dark theme did not switch on (body background {dark_bg})"
