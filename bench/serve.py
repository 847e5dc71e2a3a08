#!/usr/bin/env python3
"""runner serve under load, driven like a forge: signed GitHub push hooks over HTTP.

  latency: from sending a push hook to the first step's first output line (the runner's own
           timestamp of that line), mirror and image warm, one hook at a time; side by side
           with `runner exec --url` of the same commit (the CLI's path to the same first line).
  burst:   N hooks from C concurrent connections, as fast as the server answers: answers by
           status, answer-time percentiles, runs in the queue afterwards (none lost), and the
           server's resident memory before, after and at its peak.

Usage: bench/serve.py RUNNER STATE WORKDIR [LATENCY_RUNS] [BURST] [CONNECTIONS]
(bench/serve.sh sets it all up.)"""
import hashlib, hmac, http.client, json, os, statistics, subprocess, sys, threading, time, uuid
from datetime import datetime

runner, state, work = sys.argv[1], sys.argv[2], sys.argv[3]
latency_runs = int(sys.argv[4]) if len(sys.argv) > 4 else 10
burst = int(sys.argv[5]) if len(sys.argv) > 5 else 2000
connections = int(sys.argv[6]) if len(sys.argv) > 6 else 32
SECRET = "bench-secret"
PORT = 18080 + os.getpid() % 1000

def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout.strip()

head = git(f"{work}/app", "rev-parse", "HEAD")
config = f"{work}/server.yml"
with open(config, "w") as f:
    f.write(f"""listen: http://127.0.0.1:{PORT}
state_dir: {state}
runs_at_once: 2
repositories:
  - name: bench/app
    forge: github
    clone_url: file://{work}/app.git
    webhook_secret: {{ env: BENCH_SECRET }}
  - name: bench/burst
    forge: github
    clone_url: file://{work}/burst.git
    webhook_secret: {{ env: BENCH_SECRET }}
    runs_at_once: 1
""")

env = dict(os.environ, BENCH_SECRET=SECRET)
server = subprocess.Popen([runner, "serve", "--config", config], env=env, stdout=subprocess.DEVNULL, stderr=open(f"{work}/server.log", "w"))

def request(method, path, body=None, headers=None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    if own:
        conn.close()
    return response.status, data

def hook(repository, commit, branch="main"):
    body = json.dumps({
        "ref": f"refs/heads/{branch}", "before": "0" * 40, "after": commit, "created": True, "deleted": False,
        "commits": [], "head_commit": {"id": commit, "message": "bench", "author": {"name": "b"}},
        "repository": {"full_name": repository}, "pusher": {"name": "b"},
    }).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": str(uuid.uuid4()),
                  "X-Hub-Signature-256": signature}

def rss(field="VmRSS"):
    with open(f"/proc/{server.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")

def iso(text):
    return datetime.fromisoformat(text).timestamp()

try:
    for _ in range(200):
        try:
            if request("GET", "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.05)
    else:
        sys.exit("the server did not start: " + open(f"{work}/server.log").read())

    def first_line_after_hook():
        sent = time.time()
        status, data = request("POST", "/hooks/github", *hook("bench/app", head))
        run = json.loads(data)["run"]
        while True:
            status, data = request("GET", f"/api/runs/{run}/logs")
            lines = json.loads(data) if status == 200 else []  # 404 until the run has a record
            if lines:
                return iso(lines[0]["time"]) - sent
            time.sleep(0.01)

    def first_line_of_exec():
        started = time.time()
        with subprocess.Popen([runner, "exec", "--url", f"file://{work}/app.git", "--ref", head, "--json"], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, RUNNER_STATE_DIR=f"{state}-exec")) as p:
            first = None
            for line in p.stdout:
                event = json.loads(line)
                if event["type"] == "output" and first is None:
                    first = iso(event["time"]) - started
            p.wait()
            return first

    for _ in range(3):  # the mirror, the checkout and the image are warm from here on
        first_line_after_hook()
        first_line_of_exec()
    served, cli = [], []
    for _ in range(latency_runs):  # alternating, so that drift hits both alike
        served.append(first_line_after_hook())
        cli.append(first_line_of_exec())
        time.sleep(0.3)
    s, c = statistics.median(served) * 1000, statistics.median(cli) * 1000
    print(f"latency, hook to the first step's first line (median of {latency_runs}): runner serve {s:.0f} ms "
          f"(min {min(served)*1000:.0f}, max {max(served)*1000:.0f}); runner exec --url, start to the same line: {c:.0f} ms; ratio {s / c:.2f}")

    time.sleep(2)
    before = rss()
    answers, lock, index = [], threading.Lock(), iter(range(burst))
    def sender():
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        while True:
            with lock:
                if next(index, None) is None:
                    break
            body, headers = hook("bench/burst", head, branch=f"b{uuid.uuid4().hex[:8]}")
            t = time.perf_counter()
            try:
                status, _ = request("POST", "/hooks/github", body, headers, conn)
            except OSError as e:
                status = f"error {e}"
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            with lock:
                answers.append((status, time.perf_counter() - t))
    started = time.perf_counter()
    threads = [threading.Thread(target=sender) for _ in range(connections)]
    for t in threads: t.start()
    for t in threads: t.join()
    took = time.perf_counter() - started
    after, peak = rss(), rss("VmHWM")
    times = sorted(a[1] * 1000 for a in answers)
    statuses = {}
    for status, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    queued = json.loads(request("GET", "/api/runs?repository=bench/burst&limit=500")[1])
    metrics = request("GET", "/metrics")[1].decode()
    total = next((int(l.split()[-1]) for l in metrics.splitlines() if l.startswith("runner_runs_queued_total")), -1)
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"burst: {burst} signed hooks from {connections} connections in {took:.2f} s ({burst / took:.0f}/s); answers {statuses}; "
          f"answer time p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {times[-1]:.1f} ms")
    print(f"burst: runs queued in all {total} ({total - 3 - latency_runs} from the burst; the API lists the newest {len(queued)}); "
          f"server memory {before:.0f} MiB before, {after:.0f} MiB after, peak {peak:.0f} MiB")
finally:
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
