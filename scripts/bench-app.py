"""Measures what scripts/bench-app.sh reports; run through that script, which builds the
binaries and provides the X display (Xvfb) and the D-Bus session bus.

Start-up: from just before the process is spawned until the app prints
"bench: page-load-finished" (the webview's page-load Finished event: the wizard's HTML,
script and styles have loaded and the Svelte app has mounted). Every start is a fresh
process with empty XDG data/cache/config folders (no WebKit cache, no profiles); the
operating system's file cache stays warm, since dropping it needs root and slows every other
process on the machine. One discarded warm-up start per app, then the runs alternate
between the app and the baseline so a noisy neighbour hits both.

Memory: 6 s after the page has loaded (steady state), the RSS and PSS of the app's process
and all its descendants (WebKitWebProcess, WebKitNetworkProcess, ...) read from
/proc/<pid>/smaps_rollup and summed. RSS counts shared libraries once per process; PSS
splits them, so the PSS sum is the tree's real share of memory.

With --customers N (BENCH_CUSTOMERS), each app start's throw-away home holds N generated
customers (the hello world has nothing to load), and one more app start is driven over
WebDriver (tauri-driver + WebKitWebDriver) to measure the customer list in the real webview:
the interval between animation frames while a script scrolls the list from top to bottom and
back (requestAnimationFrame timestamps: 16.7 ms at 60 Hz means no frame was dropped), and for
each keystroke of a search, the time from the input event to the frame that shows the
engine's updated list (performance.now(); the list says which search it shows).

With --tenants 500,5000 (BENCH_TENANTS), the consent tracker of step 5 in the real webview
(issue 16; `npm --prefix ui run bench` measures the same component in jsdom): for each count,
one app start whose home holds one CSP customer with that many customer tenants, opened over
WebDriver; the time from the click on step 5 to the frame showing the first tracker rows,
then the tracker's scroll frame intervals as for the customer list.
"""

import datetime
import json
import socket
import urllib.error
import urllib.request

import argparse
import os
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

MARKER = b"bench: page-load-finished"


def descendants(root):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after it.
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def memory_of(pid):
    """(comm, rss_kib, pss_kib) of one process, or None if it has gone."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
        rss = pss = 0
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
        return comm, rss, pss
    except OSError:
        return None


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # WebKit's helpers leave when their parent's IPC socket closes; give them a moment so
    # the next start does not share the CPU with their exit.
    time.sleep(0.3)


def generate_customers(home, n):
    """N customer profiles in `home`/profiles, as a partner's list looks: every tenth
    credential expired or expiring within 60 days, every third verified, every seventh with a
    failed last test. Written before the clock starts."""
    folder = os.path.join(home, "profiles")
    os.makedirs(folder, exist_ok=True)
    today = datetime.date.today()
    for i in range(n):
        pid = f"00000000-0000-4000-8000-{i:012d}"
        days = (i % 60) - 5 if i % 10 == 0 else 90 + (i % 600)
        p = {
            "schema_version": 1,
            "id": pid,
            "name": f"Customer {i:04d}",
            "agent_url": f"https://c{i:04d}.halopsa.com",
            "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "client_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
            "sso_for": "both",
            "credential": {"kind": "secret", "expires_on": (today + datetime.timedelta(days=days)).isoformat()},
            "updated_at": "2025-01-01T00:00:00Z",
        }
        if i % 3 == 0:
            p["verified"] = {"verified_at": "2025-01-02T00:00:00Z"}
        if i % 7 == 0:
            p["last_test"] = {"ok": False, "at": "2025-01-03T00:00:00Z", "code": "AADSTS65001",
                              "reason": "The app needs admin consent."}
        with open(os.path.join(folder, f"{pid}.json"), "w") as f:
            json.dump(p, f)


def generate_tenant_customer(home, n):
    """One CSP customer (examples/acme-msp.json's values) with `n` customer tenants, a quarter
    each pending, consented, declined and failed, as a partner's tracker looks mid-rollout."""
    folder = os.path.join(home, "profiles")
    os.makedirs(folder, exist_ok=True)
    statuses = ["pending", "consented", "declined", "failed"]
    tenants = [{"tenant": f"customer{i:05d}.onmicrosoft.com", "name": f"Customer {i:05d}",
                "consent": {"status": statuses[i % 4], "aadsts": 65001 if i % 4 == 3 else None}}
               for i in range(n)]
    pid = "00000000-0000-4000-8000-00000000abcd"
    p = {
        "schema_version": 1, "id": pid, "name": f"Tracker {n}",
        "cloud": "global", "tenant_type": "multi",
        "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "client_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
        "agent_url": "https://acme.halopsa.com", "sso_for": "both",
        "features": {"import": True, "csp": True},
        "credential": {"kind": "secret", "expires_on": "2030-11-01"},
        "customer_tenants": tenants,
        "updated_at": "2025-01-01T00:00:00Z",
    }
    with open(os.path.join(folder, f"{pid}.json"), "w") as f:
        json.dump(p, f)


def start_once(binary, extra_env, settle, timeout, customers=0):
    scratch = tempfile.mkdtemp(prefix="bench-app-")
    env = dict(os.environ)
    env.update(
        XDG_DATA_HOME=f"{scratch}/data",
        XDG_CACHE_HOME=f"{scratch}/cache",
        XDG_CONFIG_HOME=f"{scratch}/config",
        ENTRA_ONBOARD_HOME=f"{scratch}/home",
        **extra_env,
    )
    for d in ("data", "cache", "config", "home"):
        os.makedirs(f"{scratch}/{d}")
    if customers:
        generate_customers(f"{scratch}/home", customers)
    log = open(f"{scratch}/stderr.log", "wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [binary], stdout=subprocess.PIPE, stderr=log, env=env, start_new_session=True
    )
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf, ready = b"", None
    try:
        while ready is None:
            left = timeout - (time.perf_counter() - t0)
            if left <= 0 or not sel.select(left):
                raise RuntimeError(f"{binary}: no page-load marker within {timeout:.0f} s")
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError(f"{binary} exited before the page loaded (see {scratch}/stderr.log)")
            buf += chunk
            if MARKER in buf:
                ready = time.perf_counter() - t0
        # Issue 16 judges memory both early (2 s: the first screen's data has just arrived)
        # and settled (`settle`, 6 s).
        early = min(2.0, settle)
        time.sleep(early)
        procs2 = [m for m in (memory_of(p) for p in descendants(proc.pid)) if m]
        time.sleep(settle - early)
        procs = [m for m in (memory_of(p) for p in descendants(proc.pid)) if m]
    except Exception:
        stop(proc)
        raise
    stop(proc)
    log.close()
    shutil.rmtree(scratch, ignore_errors=True)
    return {
        "start_ms": ready * 1000,
        "rss_mib": sum(m[1] for m in procs) / 1024,
        "pss_mib": sum(m[2] for m in procs) / 1024,
        "rss2_mib": sum(m[1] for m in procs2) / 1024,
        "pss2_mib": sum(m[2] for m in procs2) / 1024,
        "procs": procs,
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def webdriver(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=180) as r:
        return json.load(r)["value"]


# Scrolls the list by `step` px per animation frame to the bottom and back to the top (at
# most 300 frames each way), recording the interval between frames.
SCROLL_JS = r"""
const [step, done] = [arguments[0], arguments[arguments.length - 1]];
const until = (f) => new Promise((r) => { const t = () => (f() ? r() : requestAnimationFrame(t)); t(); });
(async () => {
  await until(() => document.querySelector('[data-testid="customer-row"]'));
  const v = document.querySelector('[data-testid="customer-list"]');
  const frames = [];
  let most = 0;
  for (const dir of [1, -1]) {
    let last = null;
    await new Promise((res) => {
      const tick = (ts) => {
        if (last !== null) frames.push(ts - last);
        last = ts;
        most = Math.max(most, document.querySelectorAll('[data-testid="customer-row"]').length);
        const end = dir > 0 ? v.scrollHeight - v.clientHeight : 0;
        if (Math.abs(v.scrollTop - end) < 1 || frames.length >= (dir > 0 ? 300 : 600)) return res();
        v.scrollTop = dir > 0 ? Math.min(end, v.scrollTop + step) : Math.max(0, v.scrollTop - step);
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
  }
  done(JSON.stringify({ frames, most, total: v.scrollHeight }));
})();
"""

# Types `text` into the search box one character at a time (an input event each, as a key
# press gives), timing each until the frame that shows the list for that text.
TYPE_JS = r"""
const [text, pause, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
(async () => {
  const input = document.querySelector('[data-testid="customer-search"]');
  const shown = (value) => {
    const l = document.querySelector('[data-testid="customer-list"]');
    return l && l.dataset.shownSearch === value;
  };
  const times = [];
  for (const round of [0, 1, 2]) {
    for (let i = 0; i <= text.length; i++) {
      // The last step of each round empties the box again (everyone listed).
      const value = i < text.length ? text.slice(0, i + 1) : '';
      const t0 = performance.now();
      input.value = value;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      while (!shown(value)) await frame();
      await frame();
      if (i < text.length) times.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, pause));
    }
  }
  done(JSON.stringify(times));
})();
"""


def measure_list(app, customers, timeout):
    """The list's scroll frame times and search latency in the real webview."""
    def run(port, sid):
        scroll = json.loads(execute(port, sid, SCROLL_JS, [240]))
        text = f"customer {customers - 1:04d}"
        typing = json.loads(execute(port, sid, TYPE_JS, [text, 150]))
        return scroll, typing, text
    return driven(app, lambda home: generate_customers(home, customers), run, timeout)


# Opens the only customer, then step 5, timing the click to the frame that shows the first
# tracker rows; then scrolls the tracker as SCROLL_JS scrolls the customer list.
TRACKER_JS = r"""
const [step, done] = [arguments[0], arguments[arguments.length - 1]];
const until = (f) => new Promise((r) => { const t = () => (f() ? r() : requestAnimationFrame(t)); t(); });
const q = (id) => document.querySelector(`[data-testid="${id}"]`);
(async () => {
  await until(() => q('open-customer'));
  q('open-customer').click();
  await until(() => q('step-5'));
  const t0 = performance.now();
  q('step-5').click();
  await until(() => q('tracker-row'));
  await new Promise((r) => requestAnimationFrame(() => r()));
  const first = performance.now() - t0;
  const v = q('tracker-list');
  v.scrollIntoView();
  const frames = [];
  let most = 0;
  for (const dir of [1, -1]) {
    let last = null;
    let n = 0;
    await new Promise((res) => {
      const tick = (ts) => {
        if (last !== null) { frames.push(ts - last); n++; }
        last = ts;
        most = Math.max(most, document.querySelectorAll('[data-testid="tracker-row"]').length);
        const end = dir > 0 ? v.scrollHeight - v.clientHeight : 0;
        if (Math.abs(v.scrollTop - end) < 1 || n >= 300) return res();
        v.scrollTop = dir > 0 ? Math.min(end, v.scrollTop + step) : Math.max(0, v.scrollTop - step);
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
  }
  done(JSON.stringify({ first, frames, most, total: v.scrollHeight }));
})();
"""


def measure_tracker(app, tenants, timeout):
    """Step 5's consent tracker with `tenants` customer tenants in the real webview."""
    return driven(app, lambda home: generate_tenant_customer(home, tenants),
                  lambda port, sid: json.loads(execute(port, sid, TRACKER_JS, [240])), timeout)


def execute(port, sid, script, args):
    for attempt in range(3):
        try:
            return webdriver(port, "POST", f"/session/{sid}/execute/async", {"script": script, "args": args})
        except urllib.error.HTTPError:
            raise
        except (ConnectionError, urllib.error.URLError):
            # tauri-driver now and then drops a request while the window is starting.
            if attempt == 2:
                raise
            time.sleep(1)


def driven(app, prepare, run, timeout):
    """Starts the app over WebDriver on a throw-away home that `prepare` fills, and returns
    what `run(port, session)` measures."""
    scratch = tempfile.mkdtemp(prefix="bench-list-")
    for d in ("data", "cache", "config", "home"):
        os.makedirs(f"{scratch}/{d}")
    prepare(f"{scratch}/home")
    env = dict(os.environ, XDG_DATA_HOME=f"{scratch}/data", XDG_CACHE_HOME=f"{scratch}/cache",
               XDG_CONFIG_HOME=f"{scratch}/config", ENTRA_ONBOARD_HOME=f"{scratch}/home")
    port, native = free_port(), free_port()
    log = open(f"{scratch}/driver.log", "wb")
    driver = subprocess.Popen(["tauri-driver", "--port", str(port), "--native-port", str(native)],
                              env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        t0 = time.perf_counter()
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.perf_counter() - t0 > timeout:
                    raise RuntimeError(f"tauri-driver did not start (see {scratch}/driver.log)")
                time.sleep(0.1)
        caps = {"tauri:options": {"application": app}}
        session = None
        for attempt in range(10):
            try:
                session = webdriver(port, "POST", "/session",
                                    {"capabilities": {"alwaysMatch": caps}, "desiredCapabilities": caps})
                break
            except Exception:  # tauri-driver drops the first request while its driver starts
                if attempt == 9:
                    raise
                time.sleep(0.5)
        sid = session["sessionId"]
        # A slow machine takes minutes to scroll through a long list.
        webdriver(port, "POST", f"/session/{sid}/timeouts", {"script": 600_000})
        result = run(port, sid)
        try:
            webdriver(port, "DELETE", f"/session/{sid}")
        except Exception:
            pass
        return result
    finally:
        stop(driver)
        log.close()
        shutil.rmtree(scratch, ignore_errors=True)


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def plan_times(cli, profile, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([cli, "plan", profile], stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def mark(ok):
    return "PASS" if ok else "FAIL"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--app", required=True)
    ap.add_argument("--hello", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--plan-profile", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--plan-runs", type=int, default=50)
    # The app's memory still grows for 3-5 s after the page has loaded (the first screen's
    # data arrives over IPC and renders); sampled every second it is flat from 5 s on.
    ap.add_argument("--settle", type=float, default=6.0)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--customers", type=int, default=0)
    ap.add_argument("--tenants", default="", help="comma-separated tenant counts for the consent tracker")
    ap.add_argument("--about", default="")
    ap.add_argument("--reproduce", default="scripts/bench-app.sh")
    a = ap.parse_args()

    subjects = {
        "app": (a.app, {"ENTRA_ONBOARD_BENCH": "1"}),
        "hello": (a.hello, {}),
    }
    results = {"app": [], "hello": []}
    # Only the app has customers to load; the hello world shows its one static page.
    customers = {"app": a.customers, "hello": 0}
    for name, (binary, env) in subjects.items():
        print(f"warm-up: {name}", file=sys.stderr)
        start_once(binary, env, 0.2, a.timeout, customers[name])
    for i in range(a.runs):
        for name, (binary, env) in subjects.items():
            r = start_once(binary, env, a.settle, a.timeout, customers[name])
            results[name].append(r)
            print(
                f"run {i + 1}/{a.runs} {name:5}: start {r['start_ms']:7.1f} ms, "
                f"RSS {r['rss_mib']:6.1f} MiB, PSS {r['pss_mib']:6.1f} MiB, "
                f"{len(r['procs'])} processes",
                file=sys.stderr,
            )

    def med(name, key):
        return statistics.median(r[key] for r in results[name])

    plan = plan_times(a.cli, a.plan_profile, a.plan_runs)
    plan_med = statistics.median(plan)
    size_mb = os.path.getsize(a.app) / 1e6
    hello_mb = os.path.getsize(a.hello) / 1e6

    rows = []
    for key, label, target in (
        # Issue 16's targets (the tightest any issue set; issue 18's are 1.10x).
        ("start_ms", "start to page loaded (ms)", 1.05),
        ("rss2_mib", "RSS of process tree at 2 s (MiB)", 1.05),
        # PSS shares each library page among all processes mapping it, including other
        # WebKit apps that happen to run on the machine: a fairer split within the tree, but
        # on a shared machine it moves with the neighbours; judged all the same (issue 16).
        ("pss2_mib", "PSS of process tree at 2 s (MiB)", 1.08),
        ("rss_mib", "RSS of process tree (MiB)", 1.05),
        ("pss_mib", "PSS of process tree (MiB)", 1.08),
    ):
        app, hello = med("app", key), med("hello", key)
        ratio = app / hello
        if target is None:
            rows.append((label, f"{app:.1f}", f"{hello:.1f}", f"{ratio:.2f}x", "(info)", ""))
        else:
            rows.append((label, f"{app:.1f}", f"{hello:.1f}", f"{ratio:.2f}x", f"<= {target:.2f}x", mark(ratio <= target)))
    rows.append(("release binary, stripped (MB)", f"{size_mb:.2f}", f"{hello_mb:.2f}", "", "<= 15 MB", mark(size_mb <= 15)))
    rows.append((f"`entra-onboard plan` (ms, N={a.plan_runs})", f"{plan_med:.1f}", "", "", "<= 20 ms", mark(plan_med <= 20)))

    list_rows = []
    if a.customers:
        print("measuring the customer list in the webview (WebDriver)", file=sys.stderr)
        scroll, typing, text = measure_list(a.app, a.customers, a.timeout)
        frames = scroll["frames"]
        list_rows = [
            (f"list scroll, frame interval p50 (ms, {len(frames)} frames)", f"{statistics.median(frames):.1f}", "", "", "<= 16.7 ms", mark(statistics.median(frames) <= 16.7 + 0.5)),
            ("list scroll, frame interval p95 (ms)", f"{pct(frames, 95):.1f}", "", "", "(60 Hz = 16.7)", ""),
            (f"search keystroke to updated list p50 (ms, N={len(typing)})", f"{statistics.median(typing):.1f}", "", "", "<= 50 ms", mark(statistics.median(typing) <= 50)),
            ("search keystroke to updated list p95 (ms)", f"{pct(typing, 95):.1f}", "", "", "", ""),
        ]
        rows.extend(list_rows)

    tracker = []
    for n in [int(x) for x in a.tenants.split(",") if x.strip()]:
        print(f"measuring the consent tracker with {n} tenants in the webview (WebDriver)", file=sys.stderr)
        tracker.append((n, measure_tracker(a.app, n, a.timeout)))
    for n, t in tracker:
        fr = t["frames"]
        rows.append((f"tracker, {n} tenants: step 5 to first rows (ms)", f"{t['first']:.0f}", "", "", "(info)", ""))
        rows.append((f"tracker, {n} tenants: scroll p50 / p95 (ms, {len(fr)} frames)",
                     f"{statistics.median(fr):.1f} / {pct(fr, 95):.1f}", "", "", "<= 16.7 ms",
                     mark(statistics.median(fr) <= 16.7 + 0.5)))

    print()
    title = f", {a.customers} customers in the app's home" if a.customers else ""
    print(f"Entra Onboard vs Tauri hello world, medians of {a.runs} starts each (Xvfb){title}")
    if a.about:
        print(a.about)
    head = ("metric", "app", "hello", "ratio", "target", "result")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(6)]
    for r in [head] + rows:
        print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))

    # Where the memory goes, in each one's median-RSS run.
    print()
    for name in ("app", "hello"):
        runs = sorted(results[name], key=lambda r: r["rss_mib"])
        mid = runs[len(runs) // 2]
        print(f"{name} process tree, RSS/PSS MiB (median-RSS run): " + ", ".join(
            f"{comm} {rss / 1024:.0f}/{pss / 1024:.0f}" for comm, rss, pss in mid["procs"]
        ))
    fa, fh = min(r["start_ms"] for r in results["app"]), min(r["start_ms"] for r in results["hello"])
    print(f"fastest start: app {fa:.0f} ms, hello {fh:.0f} ms ({fa / fh:.2f}x; least disturbed by other load)")
    print("start, ms, in run order: app " + " ".join(f"{r['start_ms']:.0f}" for r in results["app"])
          + "; hello " + " ".join(f"{r['start_ms']:.0f}" for r in results["hello"]))
    print(f"plan: min {min(plan):.1f} ms, median {plan_med:.1f} ms, max {max(plan):.1f} ms "
          "(whole process: exec, parse the profile, plan, print)")
    if list_rows:
        print(f"list: at most {scroll['most']} cards in the DOM while scrolling {a.customers} "
              f"({scroll['total']} px, 240 px per frame, down and up); slowest frame "
              f"{max(frames):.1f} ms; search typed \"{text}\" 3 times, slowest keystroke "
              f"{max(typing):.1f} ms")
    for n, t in tracker:
        print(f"tracker: {n} tenants, at most {t['most']} rows in the DOM while scrolling "
              f"({t['total']} px, 240 px per frame, at most 300 frames each way); slowest frame "
              f"{max(t['frames']):.1f} ms")
    print()
    print(f"Reproduce: {a.reproduce}")


if __name__ == "__main__":
    main()
