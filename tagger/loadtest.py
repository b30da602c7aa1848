"""Load test of ``tagger serve``: ``python -m tagger.loadtest --model en-conll03-fast --data eng.testb``.

Starts the server on a free loopback port (or takes ``--url``), holds
``--clients`` concurrent clients for ``--seconds`` (each posting one sentence's
tokens at a time, round the sentences of ``--data``), and prints requests/s,
tokens/s and latency percentiles, then one client alone, beside
``Tagger.tag_batch`` on the same sentences in this process: the rate batching
can approach. The clients run on the same machine as the server, and take some
of its CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .errors import TaggerError, run_command


@dataclass
class Load:
    """What the clients saw: each answered request's latency (seconds) and tokens, and the failures."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    tokens: int = 0
    failures: dict[str, int] = field(default_factory=dict)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")

    def described(self, what: str) -> str:
        requests = len(self.latencies)
        failed = sum(self.failures.values())
        return (f"{what:<28}{requests / self.seconds:>9,.0f} requests/s {self.tokens / self.seconds:>9,.0f} tokens/s"
                f"  p50 {self.percentile(0.5) * 1000:6.1f} ms  p99 {self.percentile(0.99) * 1000:6.1f} ms"
                f"  {requests:,} requests, {failed} failed" + (f" {self.failures}" if failed else ""))


async def hold(url: str, sentences: Sequence[list[str]], clients: int, seconds: float, per_request: int = 1) -> Load:
    """``clients`` clients posting ``{"tokens": [...]}`` of ``per_request`` sentences to ``url/tag``, back to back,
    for ``seconds``.

    Each client keeps one HTTP/1.1 connection and writes and reads it with asyncio's streams: a client of a few
    lines that costs the server's machine far less than a client library would.
    """
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    bodies = [(sum(map(len, group)), json.dumps({"tokens": group}).encode())
              for group in (list(sentences[i:i + per_request]) for i in range(0, len(sentences), per_request))]
    turns = itertools.cycle(bodies)
    load = Load()
    end = time.perf_counter() + seconds

    async def one_client() -> None:
        connection = None
        while time.perf_counter() < end:
            tokens, body = next(turns)
            started = time.perf_counter()
            try:
                if connection is None:
                    connection = await asyncio.open_connection(host, port)
                reader, writer = connection
                writer.write(b"POST /tag HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (host.encode(), len(body), body))
                head = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
                status = head[0].split(b" ", 2)[1].decode()
                lengths = [line.split(b":", 1)[1] for line in head[1:] if line.lower().startswith(b"content-length:")]
                await reader.readexactly(int(lengths[0]) if lengths else 0)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError, ValueError) as error:
                status = type(error).__name__
                if connection is not None:
                    connection[1].close()
                connection = None
            if status == "200":
                load.latencies.append(time.perf_counter() - started)
                load.tokens += tokens
            else:
                load.failures[status] = load.failures.get(status, 0) + 1
        if connection is not None:
            connection[1].close()

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    load.seconds = time.perf_counter() - started
    return load


def _run(coroutine):
    """``asyncio.run``, on uvloop where it is installed (the ``serve`` extra): the clients then cost less CPU."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(model: str, port: int, threads: int | None = None, workers: int = 1) -> subprocess.Popen:
    """``tagger serve`` in a subprocess on ``port``, once its ``/health`` answers (60 s at most)."""
    command = [sys.executable, "-m", "tagger", "serve", "--model", model, "--port", str(port), "--workers", str(workers)]
    if threads:
        command += ["--threads", str(threads)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise TaggerError(f"tagger serve stopped: {server.stderr.read().strip().splitlines()[-1:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                if answer.status == 200:
                    return server
        except OSError:  # not listening yet
            time.sleep(0.2)
    server.kill()
    raise TaggerError("tagger serve did not answer /health within 60 s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tagger.loadtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a CoNLL file whose sentences the clients post")
    parser.add_argument("--model", default="en-conll03", help="model to serve and to tag with in this process")
    parser.add_argument("--url", help="a server already running (default: start one for --model)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients keep posting")
    parser.add_argument("--per-request", type=int, default=1, help="sentences in each request")
    parser.add_argument("--threads", type=int, help="torch threads, of the server and of tag_batch here")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_args(argv)
    from .bench import cpu_description
    from .corpus import parse_conll, read_lines

    sentences = [sentence.tokens for sentence in parse_conll(read_lines(str(args.data)), str(args.data), 0,
                                                             label_column=None) if len(sentence.tokens)]
    server = None
    url = args.url
    if url is None:
        port = free_port()
        server = start_server(args.model, port, args.threads)
        url = f"http://127.0.0.1:{port}"
    try:
        crowd = _run(hold(url, sentences, args.clients, args.seconds, args.per_request))
        alone = _run(hold(url, sentences, 1, min(args.seconds, 15.0), args.per_request))
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)  # finishes what is in flight, then exits
            server.wait(timeout=60)
    import torch

    from .api import Tagger

    if args.threads:
        torch.set_num_threads(args.threads)
    tagger = Tagger.load(args.model)
    tagger.tag_batch(sentences[:256])  # warm: character features of the first words, allocations
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        tagger.tag_batch(sentences)
        runs.append(time.perf_counter() - started)
    tokens = sum(map(len, sentences))
    in_process = tokens / statistics.median(runs)
    print(f"{cpu_description()}; server {url}, model {args.model}, {len(sentences):,} sentences of {args.data}, "
          f"{args.per_request} a request")
    print(crowd.described(f"{args.clients} clients, {args.seconds:g} s"))
    print(alone.described(f"1 client, {alone.seconds:.0f} s"))
    print(f"{'Tagger.tag_batch, batch 256':<28}{'':>20}{in_process:>9,.0f} tokens/s  in this process, median of 3; "
          f"the server under load: {crowd.tokens / crowd.seconds / in_process:.2f} of it")
    return 1 if crowd.failures or alone.failures else 0


if __name__ == "__main__":
    sys.exit(run_command(main))
