"""HTTP paths under load: gunicorn (sync workers, one per core) driven by wrk.

- GET of a live feedback link (a Lua script cycles through many live link paths) vs the bare
  form page of benchmarks/baseline_app.py;
- POST of a full candidate-experience answer (a Lua script takes a fresh, unused link for every
  request: each link answers once) vs the bare validate-and-insert-one-row route;
- the company dashboard (signed in as a company user) vs the bare page of the first row.
"""
from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from .common import (
    COMPANY_LOGIN,
    COMPANY_PASSWORD,
    PYTHON,
    ROOT,
    USER_AGENT,
    app_env,
    free_port,
    stop,
    wait_for_port,
)

WRK = os.environ.get("WRK", "wrk")
CYCLE_LUA = r"""
-- Each thread takes every n-th path of a file, starting at its own offset, so that no two
-- requests (across threads) use the same path until the file is exhausted.
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  nthreads = tonumber(args[2])
  method = args[3]
  body = nil
  if args[4] then
    local file = io.open(args[4], "rb")
    body = file:read("*a")
    file:close()
  end
  index = tid
  used = 0
end

function request()
  local path = paths[(index % #paths) + 1]
  index = index + nthreads
  if method == "POST" then
    return wrk.format("POST", path, {["Content-Type"] = "application/x-www-form-urlencoded",
                                      ["User-Agent"] = "feedback-bench"}, body)
  end
  return wrk.format("GET", path, {["User-Agent"] = "feedback-bench"})
end
"""

# A full candidate-experience answer (the live links are for candidates who withdrew at the
# interview stage, so every question applies): NPS, six Likert statements, two decline reasons,
# a comment. 10 answer rows per submission.
FULL_ANSWER = {
    "nps": "8", "communication": "4", "timeliness": "3", "role_clarity": "5", "interviewer_preparation": "4",
    "fairness": "4", "respect": "5", "decline_reasons": ["compensation", "other_offer"],
    "improve": "Tell candidates earlier when the process takes longer than announced.",
}
BASELINE_SUBMIT = {f"q{number}": str(1 + number % 5) for number in range(1, 11)}


class Gunicorn:
    """gunicorn with sync workers, one per core, on a free port.

    The real app runs under the project's production gunicorn.conf.py (its token-redacting access
    log is formatted for every request, then written to /dev/null); the baseline under an empty
    configuration (no access log), as a bare script would.
    """

    def __init__(self, app_spec: str, env: dict[str, str], config: Path, workers: int | None = None) -> None:
        self.port = free_port()
        self.workers = workers or os.cpu_count() or 1
        self.cmd = [PYTHON, "-m", "gunicorn", "--config", str(config), "--workers", str(self.workers),
                    "--worker-class", "sync", "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning",
                    "--timeout", "120", app_spec]
        self.env = env
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        self.process = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env)
        wait_for_port(self.port, process=self.process)
        time.sleep(1.0)  # both workers booted
        return self

    def __exit__(self, *exc) -> None:
        stop(self.process)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def parse_wrk(output: str) -> dict:
    """wrk's summary: requests, duration, rate, errors, non-2xx/3xx responses, latency."""
    def grab(pattern: str, default: str = "0") -> str:
        match = re.search(pattern, output)
        return match.group(1) if match else default

    requests = int(grab(r"(\d+) requests in"))
    duration = float(grab(r"requests in ([\d.]+)s", "0") or 0)
    if not duration:  # wrk writes "1.00m" for long runs
        duration = float(grab(r"requests in ([\d.]+)m", "0")) * 60
    socket_errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", grab(
        r"(Socket errors:.*)", "")))
    non_2xx = int(grab(r"Non-2xx or 3xx responses: (\d+)"))
    latency = grab(r"Latency\s+([\d.]+\w+)", "")
    ok = max(requests - non_2xx, 0)
    return {
        "requests": requests, "seconds": duration, "rate": float(grab(r"Requests/sec:\s+([\d.]+)")),
        "ok_rate": ok / duration if duration else 0.0, "non_2xx_3xx": non_2xx, "socket_errors": socket_errors,
        "latency_avg": latency,
    }


def wrk(url: str, duration: float, threads: int = 2, connections: int = 16, lua: tuple | None = None,
        headers: tuple[str, ...] = ()) -> dict:
    """Run wrk for ``duration`` seconds; ``lua`` = (script path, *script args)."""
    cmd = [WRK, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "30s", "--latency"]
    for header in headers:
        cmd += ["-H", header]
    if lua:
        cmd += ["-s", str(lua[0]), url, "--", *map(str, lua[1:])]
    else:
        cmd.append(url)
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    parsed = parse_wrk(result.stdout)
    parsed["raw"] = result.stdout
    return parsed


def login_cookie(base: str, page: str) -> str:
    """Sign in through the real /login form (CSRF off for the benchmark) and return the session
    cookie a browser holds once it has shown ``page``.

    wrk replays one cookie. A browser keeps the cookie each response sets: the first page after
    sign-in adds the session's CSRF token (the benchmark's sign-in form had none), and later
    pages leave the cookie alone. Replaying the sign-in cookie itself would make every measured
    page re-sign and re-send a cookie that no browser would send twice.
    """
    host, port = base.removeprefix("http://").split(":")
    cookie = None
    for method, path in (("POST", "/login"), ("GET", page)):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {"User-Agent": USER_AGENT}
        if method == "POST":
            body = urlencode({"email": COMPANY_LOGIN, "password": COMPANY_PASSWORD})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            body = None
            headers["Cookie"] = cookie
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != (302 if method == "POST" else 200):
            raise RuntimeError(f"{method} {path} for the dashboard benchmark answered {response.status}")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.startswith("session="):
                cookie = value.split(";", 1)[0]
        if cookie is None:
            raise RuntimeError("sign-in set no session cookie")
    return cookie


def check_page(base: str, path: str, headers: dict[str, str] | None = None, method: str = "GET",
               body: str | None = None) -> tuple[int, str]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    if body is not None:
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=all_headers)
    response = conn.getresponse()
    return response.status, response.read().decode("utf-8", "replace")


def run(database_url: str, baseline_db_url: str, company_id: int, get_tokens: list[str],
        post_tokens: list[str], warm_tokens: list[str], duration: float, warmup: float,
        connections: int = 16) -> dict:
    """Every HTTP comparison for one database; the real app and the baseline run side by side (idle in turn)."""
    work = Path(tempfile.mkdtemp(prefix="feedback-wrk-"))
    try:
        return _run(work, database_url, baseline_db_url, company_id, get_tokens, post_tokens, warm_tokens, duration,
                    warmup, connections)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(work: Path, database_url: str, baseline_db_url: str, company_id: int, get_tokens: list[str],
         post_tokens: list[str], warm_tokens: list[str], duration: float, warmup: float, connections: int) -> dict:
    lua = work / "cycle.lua"
    lua.write_text(CYCLE_LUA)
    files = {}
    for name, tokens in (("get", get_tokens), ("post", post_tokens), ("warm", warm_tokens)):
        files[name] = work / f"{name}.txt"
        files[name].write_text("".join(f"/f/{token}\n" for token in tokens))
    answer_body = work / "answer.txt"
    answer_body.write_text(urlencode(FULL_ANSWER, doseq=True))
    submit_body = work / "submit.txt"
    submit_body.write_text(urlencode(BASELINE_SUBMIT))
    threads = 2
    results: dict[str, dict] = {}

    from .baseline_app import create_tables

    create_tables(baseline_db_url)  # the harness creates the baseline's table, not its workers

    baseline_env = app_env(database_url, BENCH_BASELINE_DB_URL=baseline_db_url, BENCH_APP_DB_URL=database_url)
    bare_config = work / "gunicorn_bare.conf.py"
    bare_config.write_text("# the baseline: gunicorn's defaults (no access log)\n")
    real = Gunicorn("wsgi:app", app_env(database_url, ACCESS_LOG=os.devnull), ROOT / "gunicorn.conf.py")
    bare = Gunicorn("benchmarks.baseline_app:app", baseline_env, bare_config)
    with real, bare:
        # Sanity: each page answers as the comparison assumes before it is measured.
        status, _ = check_page(real.base, f"/f/{get_tokens[0]}")
        assert status == 200, f"live link GET answered {status}"
        status, _ = check_page(bare.base, "/form")
        assert status == 200, f"baseline form answered {status}"
        dashboard = f"/companies/{company_id}/dashboard"
        cookie = login_cookie(real.base, dashboard)
        status, page = check_page(real.base, dashboard, {"Cookie": cookie})
        assert status == 200 and "where did our process fall short" in page, f"dashboard answered {status}"
        status, _ = check_page(bare.base, "/first-row")
        assert status == 200, f"baseline first row answered {status}"
        auth = (f"Cookie: {cookie}", f"User-Agent: {USER_AGENT}")

        drained: list[float] = []

        def drain(server: Gunicorn, path: str) -> None:
            """Wait until the server has finished what wrk left queued (requests accepted before wrk
            closed its connections are still served), so that no run pays for the previous one."""
            started = time.perf_counter()
            check_page(server.base, path)
            drained.append(time.perf_counter() - started)

        def pair(name: str, app_call, base_call, rounds: int = 2, length: float = duration) -> None:
            """Warm both, then alternate app and baseline runs (rounds × length/rounds each), so that
            load from anything else on the machine falls on both sides alike."""
            print(f"[bench]   wrk {name} …", flush=True)
            runs: dict[str, list[dict]] = {"app": [], "baseline": []}
            load = []
            for round_ in range(-1, rounds):  # round -1: the warm-up, not counted
                load.append(os.getloadavg()[0])
                for side, call, server, path in (("app", app_call, real, "/healthz"),
                                                 ("baseline", base_call, bare, "/first-row")):
                    run = call(warmup if round_ < 0 else length / rounds)
                    drain(server, path)
                    if round_ >= 0:
                        runs[side].append(run)
            results[name] = {"app": _combine(runs["app"]), "baseline": _combine(runs["baseline"]),
                             "loadavg_1min_before_runs": load[1:], "drain_seconds_max": max(drained)}
            drained.clear()

        # The dashboard: one connection per worker (more would only queue), 15 s per side in two
        # alternating runs, as the other paths, so that a burst of other load falls on both sides.
        workers = real.workers
        pair(
            "dashboard",
            lambda d: wrk(real.base + dashboard, d, workers, workers, headers=auth),
            lambda d: wrk(bare.base + "/first-row", d, workers, workers),
            rounds=2, length=max(15.0, 1.5 * duration),
        )
        pair(
            "get_link",
            lambda d: wrk(real.base + "/", d, threads, connections, lua=(lua, files["get"], threads, "GET")),
            lambda d: wrk(bare.base + "/form", d, threads, connections),
        )
        # POST: every request takes a link no request used before. The warm-up has links of its own;
        # each measured run gets its own slice of the pool (the Lua script starts at the file's top).
        post_slices = _slices(work, post_tokens, rounds=2)
        state = {"warm": True, "next": 0}

        def post_app(d: float) -> dict:
            if state["warm"]:
                state["warm"] = False
                tokens = files["warm"]
            else:
                tokens = post_slices[state["next"]]
                state["next"] += 1
            return wrk(real.base + "/", d, threads, connections, lua=(lua, tokens, threads, "POST", answer_body))

        pair(
            "post_answer",
            post_app,
            lambda d: wrk(bare.base + "/submit", d, threads, connections,
                          lua=(lua, _single_path_file(work, "/submit"), threads, "POST", submit_body)),
        )
        results["post_answer"]["links_available"] = len(post_tokens)
    return results


def _combine(runs: list[dict]) -> dict:
    """Several wrk runs as one: total requests over total seconds."""
    seconds = sum(run["seconds"] for run in runs)
    requests = sum(run["requests"] for run in runs)
    non_2xx = sum(run["non_2xx_3xx"] for run in runs)
    return {
        "requests": requests, "seconds": seconds, "rate": requests / seconds if seconds else 0.0,
        "ok_rate": (requests - non_2xx) / seconds if seconds else 0.0, "non_2xx_3xx": non_2xx,
        "socket_errors": sum(run["socket_errors"] for run in runs),
        "latency_avg": [run["latency_avg"] for run in runs],
        **({"raw": [run["raw"] for run in runs]} if non_2xx else {}),
    }


def _slices(work: Path, tokens: list[str], rounds: int) -> list[Path]:
    size = len(tokens) // rounds
    paths = []
    for number in range(rounds):
        path = work / f"post-{number}.txt"
        path.write_text("".join(f"/f/{token}\n" for token in tokens[number * size:(number + 1) * size]))
        paths.append(path)
    return paths


def _single_path_file(work: Path, path: str) -> Path:
    target = work / "single.txt"
    target.write_text(path + "\n")
    return target
