"""``tagger serve``: a model behind an HTTP API, on FastAPI and uvicorn (``pip install 'tagger[serve]'``).

    tagger serve --model runs/mine --port 8080
    curl -d '{"text": "Angela Merkel visited Paris."}' -H 'content-type: application/json' localhost:8080/tag

Each worker process loads the model once. Requests that arrive together are
tagged together: a ``Batcher`` takes whatever is queued (waiting a few
milliseconds for more) and tags it as one ``Tagger.predict`` call on a thread of
its own, so the event loop keeps reading and answering while the model runs.
Every bad request gets a 4xx with a JSON ``detail`` naming what is wrong, never a
traceback. The OpenAPI schema is at ``/openapi.json`` and its pages at ``/docs``;
``/`` is a page to try the model in a browser, with no script at all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html import escape
from typing import Literal
from urllib.parse import parse_qs

from .errors import HelpFormatter, TaggerError, program_name, run_command
from .schemes import SCHEMES
from .version import __version__

try:
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
    from starlette.exceptions import HTTPException
except ImportError as missing:  # the extra is not installed: say which, at once
    raise TaggerError(f"tagger serve needs FastAPI and uvicorn: pip install 'tagger[serve]' ({missing})") from None

# Limits on what one request may ask. A larger body, a longer text or more inputs get a 413.
MAX_BODY_BYTES = 1_000_000
MAX_TEXT_CHARS = 100_000
MAX_INPUTS = 1_000
MAX_NBEST = 20
BODY_SECONDS = 10.0  # a body that takes longer to arrive gets a 408, so a slow client holds nothing for long
BATCH_WAIT_SECONDS = 0.002  # how long the first request of a batch waits for others to join it
BATCH_SENTENCES = 256  # a batch stops taking requests at this many inputs

ENVIRONMENT = "TAGGER_SERVE"  # how ``main`` hands its settings to uvicorn's worker processes (JSON)
log = logging.getLogger("tagger.serve")


class TagRequest(BaseModel):
    """What ``POST /tag`` takes: one of ``text``, ``texts`` or ``tokens``, and options."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, description="one text: its sentences are found and read together")
    texts: list[str] | None = Field(None, description="several texts, each read alone")
    tokens: list[list[str]] | None = Field(None, description="sentences already split into tokens")
    nbest: int = Field(0, ge=0, le=MAX_NBEST, description="add the K most probable readings of each input")
    min_score: float = Field(0.0, ge=0.0, le=1.0, description="drop entities whose probability is below this")
    scheme: Literal[SCHEMES] | None = Field(  # type: ignore[valid-type]
        None, description="tag scheme of the tags returned (default: the model's training corpus's)")

    @model_validator(mode="after")
    def _one_kind_of_input(self) -> "TagRequest":
        given = [name for name in ("text", "texts", "tokens") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of text, texts or tokens (got {', '.join(given) or 'none'})")
        return self

    def inputs(self) -> list[str | list[str]]:
        return [self.text] if self.text is not None else list(self.texts or self.tokens or [])


class TagResponse(BaseModel):
    """What ``POST /tag`` returns: a result per input, as ``tag.py --format jsonl`` writes a line."""

    model: str
    results: list[dict]


@dataclass
class _Waiting:
    inputs: list
    options: tuple  # (scheme, nbest, min_score): requests with the same are tagged in one call
    future: asyncio.Future = field(repr=False)


class Batcher:
    """Tags the inputs of requests that arrive together in one ``predict`` call.

    ``tag`` queues a request's inputs and waits for their results. One task takes
    the first request queued, then whatever else arrives within ``wait`` seconds
    (up to ``most`` inputs), and runs ``predict`` on a thread of its own: calls
    run one at a time, so the model's threads do not compete with each other.
    """

    def __init__(self, tagger, wait: float = BATCH_WAIT_SECONDS, most: int = BATCH_SENTENCES):
        self.tagger, self.wait, self.most = tagger, wait, most
        self.queue: asyncio.Queue[_Waiting] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="tagger")
        self._task: asyncio.Task | None = None
        self.batches = 0  # predict calls made: how far batching went, for tests and logs

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._executor.shutdown(wait=True)

    async def tag(self, inputs: list, scheme: str, nbest: int, min_score: float) -> list:
        future = asyncio.get_running_loop().create_future()
        await self.queue.put(_Waiting(inputs, (scheme, nbest, min_score), future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            size, deadline = len(batch[0].inputs), loop.time() + self.wait
            while size < self.most:
                try:
                    waiting = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    left = deadline - loop.time()
                    if left <= 0:
                        break
                    try:
                        waiting = await asyncio.wait_for(self.queue.get(), left)
                    except TimeoutError:
                        break
                batch.append(waiting)
                size += len(waiting.inputs)
            groups: dict[tuple, list[_Waiting]] = {}
            for waiting in batch:
                groups.setdefault(waiting.options, []).append(waiting)
            for (scheme, nbest, min_score), group in groups.items():
                inputs = [item for waiting in group for item in waiting.inputs]
                try:
                    results = await loop.run_in_executor(self._executor, lambda: self.tagger.predict(
                        inputs, scheme=scheme, nbest=nbest, min_score=min_score))
                except Exception as error:  # noqa: BLE001 - handed to each request, which answers for it
                    for waiting in group:
                        if not waiting.future.done():
                            waiting.future.set_exception(error)
                    continue
                self.batches += 1
                start = 0
                for waiting in group:
                    if not waiting.future.done():  # a client that went away cancels its future
                        waiting.future.set_result(results[start:start + len(waiting.inputs)])
                    start += len(waiting.inputs)


class RequestTooLarge(Exception):
    pass


def create_app(model: str | None = None, wait: float = BATCH_WAIT_SECONDS, max_body_bytes: int = MAX_BODY_BYTES,
               max_text_chars: int = MAX_TEXT_CHARS, max_inputs: int = MAX_INPUTS) -> FastAPI:
    """The application: ``model`` (a directory or a shipped name; None: the default model) is loaded at start-up."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from .api import Tagger

        tagger = await asyncio.get_running_loop().run_in_executor(None, Tagger.load, model)
        app.state.tagger, app.state.batcher = tagger, Batcher(tagger, wait)
        app.state.batcher.start()
        log.info("model %s loaded: %s", model or "en-conll03", ", ".join(tagger.labels))
        yield
        await app.state.batcher.stop()

    app = FastAPI(title="tagger", version=__version__, lifespan=lifespan,
                  description="Named entities in text, from a BiLSTM-CRF model: `POST /tag`.")
    name = model or "en-conll03"

    async def body_of(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            raise RequestTooLarge(f"request body of {int(declared):,} bytes; at most {max_body_bytes:,}")
        chunks, size = [], 0

        async def read() -> None:
            nonlocal size
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_body_bytes:
                    raise RequestTooLarge(f"request body over {max_body_bytes:,} bytes")
                chunks.append(chunk)

        try:
            await asyncio.wait_for(read(), BODY_SECONDS)
        except TimeoutError:
            raise HTTPException(408, f"the request body took more than {BODY_SECONDS:g} s to arrive") from None
        return b"".join(chunks)

    def checked(request_: TagRequest) -> list:
        inputs = request_.inputs()
        if len(inputs) > max_inputs:
            raise RequestTooLarge(f"{len(inputs):,} inputs; at most {max_inputs:,} a request")
        for i, item in enumerate(inputs):
            length = len(item) if isinstance(item, str) else sum(len(token) + 1 for token in item)
            if length > max_text_chars:
                raise RequestTooLarge(f"input {i} has {length:,} characters; at most {max_text_chars:,}")
        return inputs

    async def tagged(request_: TagRequest) -> list:
        inputs = checked(request_)
        tagger = app.state.tagger
        scheme = request_.scheme or tagger.corpus_scheme
        return await app.state.batcher.tag(inputs, scheme, request_.nbest, request_.min_score)

    request_schema = TagRequest.model_json_schema()

    @app.post("/tag", response_model=TagResponse, openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": request_schema},
        "text/plain": {"schema": {"type": "string", "description": "one text, as `text` in JSON"}},
    }}})
    async def tag(request: Request) -> JSONResponse:
        """Tag a text (`text`), several (`texts`) or token lists (`tokens`); a `text/plain` body is one text."""
        body = await body_of(request)
        media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if media == "text/plain":
            try:
                values = {"text": body.decode("utf-8")}
            except UnicodeDecodeError as error:
                raise _Invalid([{"field": "body", "message": f"not UTF-8 text ({error.reason})"}]) from None
            values.update(request.query_params)  # options: ?nbest=2&min_score=0.5
        elif media in ("application/json", ""):
            try:
                values = json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise _Invalid([{"field": "body", "message": f"not JSON: {error}"}]) from None
            if not isinstance(values, dict):
                raise _Invalid([{"field": "body", "message": "expected a JSON object, such as {\"text\": \"...\"}"}])
        else:
            raise HTTPException(415, f"content type {media!r}: send application/json or text/plain")
        try:
            request_ = TagRequest.model_validate(values)
        except ValidationError as error:
            raise _from_validation(error) from None
        results = await tagged(request_)
        return JSONResponse({"model": name, "results": [result.to_dict() for result in results]})

    @app.get("/health")
    async def health() -> dict:
        """The model served, its entity types, and the package version."""
        tagger = app.state.tagger
        return {"status": "ok", "model": name, "labels": tagger.labels, "version": __version__}

    @app.get("/model")
    async def model_config() -> dict:
        """The model's `config.json`, without its vocabularies."""
        return {key: value for key, value in app.state.tagger.config.items() if key != "encoder"}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(text: str = "") -> HTMLResponse:
        return await _tagged_page(text)  # ?text=... as a link to a tagged text

    @app.post("/", response_class=HTMLResponse, include_in_schema=False)
    async def page_posted(request: Request) -> HTMLResponse:
        body = await body_of(request)
        return await _tagged_page(parse_qs(body.decode("utf-8", errors="replace")).get("text", [""])[0])

    async def _tagged_page(text: str) -> HTMLResponse:
        from .render import fragment

        results = await tagged(TagRequest(text=text)) if text.strip() else []
        markup = fragment(results, labels=[]) if results else ""
        return HTMLResponse(_page(name, app.state.tagger.labels, text, markup))

    @app.exception_handler(RequestTooLarge)
    async def too_large(request: Request, error: RequestTooLarge) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=413)

    @app.exception_handler(_Invalid)
    async def invalid(request: Request, error: _Invalid) -> JSONResponse:
        return JSONResponse({"detail": error.errors}, status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_by_fastapi(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [{"field": ".".join(map(str, e["loc"][1:])) or "body", "message": e["msg"]}
                                        for e in error.errors()]}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("error tagging a request")  # the traceback goes to the server's log, not to the client
        return JSONResponse({"detail": f"the server failed on this request ({type(error).__name__})"},
                            status_code=500)

    return app


class _Invalid(Exception):
    """A request whose body or fields are wrong: ``errors`` is a list of ``{"field", "message"}``."""

    def __init__(self, errors: list[dict], status: int = 422):
        super().__init__(errors)
        self.errors, self.status = errors, status


def _from_validation(error: ValidationError) -> _Invalid:
    """Pydantic's errors as ours: an unknown option is a 400 naming it, a wrong value a 422 naming its field."""
    unknown = [str(e["loc"][0]) for e in error.errors() if e["type"] == "extra_forbidden"]
    if unknown:
        known = ", ".join(TagRequest.model_fields)
        return _Invalid([{"field": name, "message": f"unknown option (known: {known})"} for name in unknown], 400)
    return _Invalid([{"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]} for e in error.errors()])


_PAGE_STYLE = """
form textarea { width: 100%; max-width: 60em; height: 8em; font: inherit; line-height: 1.4; }
form button { font: inherit; padding: 0.3em 1.2em; margin-top: 0.5em; }
"""


def _page(name: str, labels: Sequence[str], text: str = "", markup: str = "") -> str:
    """The page at ``/``: a form that posts its text back to ``/``, and the text tagged below it."""
    from .render import page

    form = (f'<form method="post" action="/"><textarea name="text" autofocus placeholder="Type or paste text">'
            f"{escape(text)}</textarea><br><button type=\"submit\">Tag</button></form>")
    return page(f"tagger: {name}", form + (f'<div class="result">{markup}</div>' if markup else ""), labels,
                style=_PAGE_STYLE)


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program_name("tagger serve"), formatter_class=HelpFormatter,
                                     description="Serve a model over HTTP: POST /tag, GET /health, GET /model, a "
                                     "page to try it at /, the OpenAPI schema at /openapi.json.")
    parser.add_argument("--model", help="model directory written by train.py, or the name of a shipped model "
                        "(default: the English CoNLL-2003 model, en-conll03)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes, each with the model loaded once")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads of each worker (default: torch's, the cores over the workers)")
    parser.add_argument("--batch-wait-ms", type=float, default=BATCH_WAIT_SECONDS * 1000,
                        help="how long a request waits for others to be tagged with it")
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES, help="largest request body (413)")
    parser.add_argument("--max-text-chars", type=int, default=MAX_TEXT_CHARS, help="longest text of a request (413)")
    parser.add_argument("--access-log", action="store_true",
                        help="log a line per request (it costs about a tenth of the throughput under load)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def create_app_from_environment() -> FastAPI:
    """The application of each uvicorn worker, from the settings ``main`` put in the environment."""
    settings = json.loads(os.environ[ENVIRONMENT])
    if settings["threads"]:
        import torch

        torch.set_num_threads(settings["threads"])
    return create_app(settings["model"], settings["wait"], settings["max_body_bytes"], settings["max_text_chars"])


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    from .storage import read_config, resolve_model

    args = _argument_parser().parse_args(argv)
    if args.workers < 1:
        raise TaggerError(f"--workers must be at least 1, got {args.workers}")
    read_config(resolve_model(args.model))  # a model that is not there fails here, once, not in each worker
    threads = args.threads or (max(1, (os.cpu_count() or 1) // args.workers) if args.workers > 1 else None)
    os.environ[ENVIRONMENT] = json.dumps({"model": args.model, "wait": args.batch_wait_ms / 1000, "threads": threads,
                                          "max_body_bytes": args.max_body_bytes,
                                          "max_text_chars": args.max_text_chars})
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    # SIGTERM and Ctrl-C stop taking connections and finish the requests in flight (uvicorn's graceful shutdown).
    uvicorn.run("tagger.serve:create_app_from_environment", factory=True, host=args.host, port=args.port,
                workers=args.workers, timeout_keep_alive=5, timeout_graceful_shutdown=30, log_level="info",
                access_log=args.access_log)
    return 0


def entry_point() -> None:
    sys.exit(run_command(main))


if __name__ == "__main__":
    entry_point()
