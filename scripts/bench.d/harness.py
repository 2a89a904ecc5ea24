"""The bench harness: server processes, a light HTTP client, timed phases, percentiles, RSS, the write ledger."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable
from urllib.parse import urlencode, urlsplit

import orjson

ROOT = Path(__file__).resolve().parents[2]
SLOW = 900.0  # seconds a single request may take (a cold read at 1M deals took 48 s before the rework)


@dataclass
class Reply:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)

    def raise_for_status(self) -> "Reply":
        if self.status_code >= 400:
            raise ConnectionError(f"HTTP {self.status_code}: {self.content[:300]!r}")
        return self


class Client:
    """One keep-alive HTTP/1.1 connection, as light as a load generator must be on 2 cores.

    The client shares the machine with the server it measures: httpx costs about 1.6 ms of CPU
    per request and capped every server near 600 gets/s at 8 clients (json-server 1.0 serves
    5,900/s), http.client about 0.25 ms; this costs about 0.04 ms. It reads what the servers
    here send (a Content-Length or chunked body) and raises OSError on anything else."""

    def __init__(self, base_url: str, timeout: float = SLOW):
        url = urlsplit(base_url)
        self.address, self.host, self.timeout = (url.hostname, url.port or 80), url.netloc.encode(), timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def get(self, path: str, params: dict | None = None) -> Reply:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: Any) -> Reply:
        return self.request("POST", path, json=json)

    def patch(self, path: str, json: Any) -> Reply:
        return self.request("PATCH", path, json=json)

    def request(self, method: str, path: str, params: dict | None = None, json: Any = None,
                content: BinaryIO | None = None, headers: dict[str, str] | None = None) -> Reply:
        """One request: a JSON body, or a file sent as it is (``content``, with its Content-Type
        and Content-Length among ``headers``)."""
        target = f"{path}?{urlencode(params)}" if params else path
        body = b"" if json is None else orjson.dumps(json)
        given = {k.lower(): v for k, v in (headers or {}).items()}
        given.setdefault("content-length", str(len(body)))
        if json is not None:
            given.setdefault("content-type", "application/json")
        lines = "".join(f"{k}: {v}\r\n" for k, v in given.items())
        message = f"{method} {target} HTTP/1.1\r\nHost: {self.host.decode()}\r\n{lines}\r\n".encode() + body
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.address, timeout=self.timeout)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.sendall(message)
            if content is not None:
                self.sock.sendfile(content)
            return self._reply()
        except BaseException:
            self.close()  # a half-read reply must not be taken for the next one
            raise

    def _reply(self) -> Reply:
        head = self._until(b"\r\n\r\n")
        status_line, *lines = head.split(b"\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines)}
        if b"content-length" in headers:
            content = self._exactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while size := int(self._until(b"\r\n").split(b";")[0], 16):
                parts.append(self._exactly(size))
                self._exactly(2)
            self._until(b"\r\n")  # no trailers are sent here: the empty line
            content = b"".join(parts)
        else:
            raise ConnectionError(f"a reply with neither Content-Length nor chunked body: {head[:300]!r}")
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return Reply(int(status_line.split(b" ", 2)[1]), content)

    def _until(self, mark: bytes) -> bytes:
        while (i := self.buffer.find(mark)) < 0:
            self._fill()
        out, self.buffer = self.buffer[:i], self.buffer[i + len(mark):]
        return out

    def _exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _fill(self) -> None:
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-reply")
        self.buffer += chunk


Op = Callable[[Client, int, int, int], bool]  # op(client, worker, k, concurrency) -> success


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on a free port: `with Server(...) as s:` starts it, waits until `ready_path`
    answers 200 (s.started_s), and SIGKILLs it on exit, so what it acknowledged must be on disk."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, ready_path: str, cwd: Path = ROOT):
        self.argv, self.env, self.port, self.ready_path, self.cwd = argv, env, port, ready_path, cwd
        self.base = f"http://127.0.0.1:{port}"
        self.started_s = float("nan")

    def __enter__(self) -> "Server":
        self.launched = launched = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + SLOW
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.argv[:3]} exited {self.proc.returncode}: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                with Client(self.base) as c:
                    answered = c.get(self.ready_path).status_code == 200
                if answered:
                    self.started_s = time.perf_counter() - launched
                    threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # drain, never block it
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        self.kill()
        raise SystemExit(f"{self.argv[:3]} did not answer {self.ready_path}")

    def up(self) -> float:
        """Seconds from launch until the application itself answers (GET /core waits for the
        build behind /core/health, and reads no data)."""
        with Client(self.base) as c:
            c.get("/core").raise_for_status()
        return time.perf_counter() - self.launched

    def __exit__(self, *exc) -> None:
        self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def rss_mb(self) -> tuple[float, float]:
        """(current, peak) resident memory of the process, from /proc/<pid>/status VmRSS and VmHWM."""
        status = dict(line.split(":", 1) for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines() if ":" in line)
        return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024

    def timed(self, method: str, path: str, **kw) -> tuple[float, Reply]:
        """One request on a fresh connection: (seconds, reply)."""
        with Client(self.base) as c:
            start = time.perf_counter()
            r = c.request(method, path, **kw)
            return time.perf_counter() - start, r


def valhalla(data_dir: Path, extra_env: dict[str, str] | None = None) -> Server:
    port = free_port()
    env = {**os.environ, "VALHALLA_DATA_DIR": str(data_dir), "VALHALLA_PORT": str(port), **(extra_env or {})}
    return Server([sys.executable, "-m", "app.cli", "serve", "--log-level", "warning"], env, port, "/core/health")


@dataclass
class Stats:
    latencies: list[float]  # ms
    errors: int
    rate: float  # ops/s
    per_commit: float | None = None  # writes per durable commit, when the server says
    seconds: float = 0.0  # how long it ran

    @classmethod
    def combined(cls, parts: list["Stats"]) -> "Stats":
        """Runs taken in turns with other servers' as one: every latency, the rate over their time."""
        seconds = sum(p.seconds for p in parts)
        latencies = [x for p in parts for x in p.latencies]
        return cls(latencies, sum(p.errors for p in parts), len(latencies) / seconds if seconds else float("nan"), seconds=seconds)

    def pct(self, p: float) -> float:
        values = sorted(self.latencies)
        return values[min(len(values) - 1, int(len(values) * p / 100))] if values else float("nan")

    @property
    def p50(self) -> float:
        return self.pct(50)


def run(base: str, concurrency: int, seconds: float, op: Op) -> Stats:
    """Call op(client, worker, k, concurrency) from `concurrency` threads for `seconds` (each
    worker at least once), each on its own keep-alive connection, after one untimed call (the
    first request after a launch is measured on its own)."""
    with Client(base) as client:
        op(client, 0, 0, concurrency)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(w: int) -> None:
        nonlocal errors
        mine, bad = [], 0
        with Client(base) as client:
            for k in itertools.count():
                start = time.perf_counter()
                try:
                    ok = op(client, w, k, concurrency)
                except OSError:
                    ok = False
                mine.append((time.perf_counter() - start) * 1000)
                bad += not ok
                if time.perf_counter() >= deadline:
                    break
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return Stats(latencies, errors, len(latencies) / elapsed, seconds=elapsed)


def getter(path: str, params: dict | None = None) -> Op:
    return lambda client, w, k, conc: client.get(path, params=params).status_code == 200


def reader(one: str, ids: list[str]) -> Op:
    """GET one record, spread over `ids`."""
    return lambda client, w, k, conc: client.get(one.format(id=ids[(w + k * conc) * 7919 % len(ids)])).status_code == 200


def creator(many: str, body: Callable[[int], dict], ledger: "Ledger") -> Op:
    """POST body(a new number each time) to `many`; acknowledged ids go in the ledger."""
    def op(client: Client, w: int, k: int, conc: int) -> bool:
        r = client.post(many, json=body(ledger.next_value()))
        if r.status_code == 201:
            ledger.create(str(r.json()["id"]))
        return r.status_code == 201

    return op


def patcher(one: str, ids: list[str], field_name: str, ledger: "Ledger") -> Op:
    """PATCH field_name to a new value; each worker patches its own share of `ids`, so its
    writes to one record are ordered and the last acknowledged value is the one to find."""
    def op(client: Client, w: int, k: int, conc: int) -> bool:
        mine = ids[w::conc] or ids
        record_id, value, ok = mine[k % len(mine)], 100000.0 + ledger.next_value(), False
        try:
            ok = client.patch(one.format(id=record_id), json={field_name: value}).status_code == 200
        finally:
            ledger.patch(record_id, value, ok)
        return ok

    return op


@dataclass
class Ledger:
    """Acknowledged writes, to check on disk afterwards: created ids, and per patched record the
    value its last acknowledged patch set (plus values sent without an answer, which may have landed)."""

    created: list[str] = field(default_factory=list)
    patched: dict[str, object] = field(default_factory=dict)
    unanswered: dict[str, set] = field(default_factory=dict)
    values: itertools.count = field(default_factory=itertools.count)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_value(self) -> int:
        return next(self.values)

    def create(self, record_id: str) -> None:
        with self.lock:
            self.created.append(record_id)

    def patch(self, record_id: str, value: object, acknowledged: bool) -> None:
        with self.lock:
            if acknowledged:
                self.patched[record_id] = value
                self.unanswered.pop(record_id, None)
            else:
                self.unanswered.setdefault(record_id, set()).add(value)

    def missing(self, stored: Callable[[str], dict | None], field_name: str) -> list[str]:
        """Acknowledged writes not found by `stored(id)` (a record dict, or None when absent)."""
        def lost(item: tuple[str, object]) -> bool:
            record_id, value = item
            rec = stored(record_id)
            if rec is None:
                return True
            return value is not None and rec.get(field_name) != value and rec.get(field_name) not in self.unanswered.get(record_id, ())

        todo = [(i, None) for i in self.created] + list(self.patched.items())
        with ThreadPoolExecutor(8) as pool:
            return [record_id for (record_id, _), bad in zip(todo, pool.map(lost, todo)) if bad]

    def summary(self, missing: list[str]) -> str:
        return f"{len(self.created):,} creates and {len(self.patched):,} patched records acknowledged, {len(missing):,} missing"


def http_lookup(base: str, path: str) -> Callable[[str], dict | None]:
    """stored(id) over HTTP: GET path.format(id=...), None on 404."""
    local = threading.local()

    def stored(record_id: str) -> dict | None:
        if not hasattr(local, "client"):
            local.client = Client(base)
        r = local.client.get(path.format(id=record_id))
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()

    return stored


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"
