"""``tagger serve``: the HTTP API on a real server process on a loopback port, called over HTTP."""

import asyncio
import json
import signal
import socket
import time

import httpx
import pytest

from tagger.api import Tagger
from tagger.loadtest import free_port, hold, start_server
from tagger.serve import MAX_BODY_BYTES, Batcher

MODEL = "en-conll03-fast"
# How the server ends after SIGTERM: uvicorn finishes what is in flight, then ends by the signal, as is usual.
STOPPED = (0, -signal.SIGTERM)
TEXT = "Angela Merkel visited Paris on Monday with Siemens executives."


@pytest.fixture(scope="module")
def server():
    port = free_port()
    process = start_server(MODEL, port)
    yield f"http://127.0.0.1:{port}"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) in STOPPED


@pytest.fixture(scope="module")
def tagger():
    return Tagger.load(MODEL)


def test_tag_returns_what_tag_py_jsonl_writes(server, tagger):
    expected = tagger.predict([TEXT], scheme=tagger.corpus_scheme)[0].to_dict()
    answer = httpx.post(f"{server}/tag", json={"text": TEXT})
    assert answer.status_code == 200
    assert answer.json() == {"model": MODEL, "results": [json.loads(json.dumps(expected))]}
    entity = answer.json()["results"][0]["entities"][0]
    assert set(entity) == {"text", "label", "start", "end", "start_char", "end_char", "score"}
    assert TEXT[entity["start_char"]:entity["end_char"]] == entity["text"] == "Angela Merkel"


def test_texts_tokens_plain_text_and_options(server, tagger):
    texts = httpx.post(f"{server}/tag", json={"texts": [TEXT, "Reuters said so."], "scheme": "BIOES"}).json()
    assert [r["text"] for r in texts["results"]] == [TEXT, "Reuters said so."]
    assert texts["results"][0]["tags"][:2] == ["B-PER", "E-PER"]
    tokens = httpx.post(f"{server}/tag", json={"tokens": [["Angela", "Merkel", "spoke"]], "nbest": 2}).json()
    result = tokens["results"][0]
    assert result["tokens"] == ["Angela", "Merkel", "spoke"] and len(result["nbest"]) == 2
    assert result["nbest"][0]["probability"] == pytest.approx(result["probability"])
    plain = httpx.post(f"{server}/tag?min_score=0.99", content=TEXT.encode(),
                       headers={"content-type": "text/plain; charset=utf-8"}).json()
    sure = [e for e in tagger.predict([TEXT], min_score=0.99)[0].entities]
    assert [e["text"] for e in plain["results"][0]["entities"]] == [e.text for e in sure]


def test_health_model_and_the_openapi_schema(server, tagger):
    health = httpx.get(f"{server}/health").json()
    assert health["status"] == "ok" and health["model"] == MODEL and health["labels"] == tagger.labels
    assert "version" in health
    model = httpx.get(f"{server}/model").json()
    assert "encoder" not in model and model["tag_scheme"] == tagger.config["tag_scheme"]
    schema = httpx.get(f"{server}/openapi.json").json()
    body = schema["paths"]["/tag"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "text/plain"}
    assert {"text", "texts", "tokens", "nbest", "min_score", "scheme"} <= set(body["application/json"]["schema"]
                                                                             ["properties"])


@pytest.mark.parametrize("body, content_type, status, field", [
    (b"{not json", "application/json", 422, "body"),
    (b'["a list"]', "application/json", 422, "body"),
    (b'{"text": 3}', "application/json", 422, "text"),
    (b'{}', "application/json", 422, "body"),
    (b'{"text": "a", "tokens": [["a"]]}', "application/json", 422, "body"),
    (b'{"text": "a", "nbest": -1}', "application/json", 422, "nbest"),
    (b'{"text": "a", "min_score": 2}', "application/json", 422, "min_score"),
    (b'{"text": "a", "scheme": "BIO2"}', "application/json", 422, "scheme"),
    (b'{"tokens": ["not", "lists"]}', "application/json", 422, "tokens.0"),
    (b'{"text": "a", "colour": "red"}', "application/json", 400, "colour"),
    (b"\xff\xfe", "text/plain", 422, "body"),
    (b"x", "image/png", 415, None),
    (b"x" * (MAX_BODY_BYTES + 1), "text/plain", 413, None),
    (json.dumps({"text": "a" * 100_001}).encode(), "application/json", 413, None),
    (json.dumps({"texts": ["a"] * 1_001}).encode(), "application/json", 413, None),
])
def test_bad_requests_get_a_4xx_naming_what_is_wrong(server, body, content_type, status, field):
    answer = httpx.post(f"{server}/tag", content=body, headers={"content-type": content_type})
    assert answer.status_code == status
    detail = answer.json()["detail"]
    assert "Traceback" not in answer.text
    if field is not None:
        assert [error["field"] for error in detail][:1] == [field] and detail[0]["message"]
    else:
        assert isinstance(detail, str) and detail


def test_a_slow_client_holds_nothing_up(server):
    stalled = socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1])))
    stalled.sendall(b"POST /tag HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{")
    try:
        started = time.perf_counter()
        answer = httpx.post(f"{server}/tag", json={"text": TEXT}, timeout=5)
        assert answer.status_code == 200 and time.perf_counter() - started < 2
    finally:
        stalled.close()


def test_concurrent_requests_are_tagged_together_and_each_gets_its_own_results(server, tagger):
    sentences = [["Angela", "Merkel", "met", name, "in", "Paris"] for name in ("Siemens", "Bosch", "Airbus")] * 20
    load = asyncio.run(hold(server, sentences, clients=16, seconds=2))
    assert load.failures == {} and len(load.latencies) > 20

    async def each():
        async with httpx.AsyncClient(base_url=server) as client:
            return await asyncio.gather(*(client.post("/tag", json={"tokens": [s]}) for s in sentences[:12]))

    answers = asyncio.run(each())
    expected = tagger.predict(sentences[:12], scheme=tagger.corpus_scheme)
    assert [a.json()["results"][0]["tags"] for a in answers] == [e.tags for e in expected]


def test_the_batcher_tags_what_arrives_together_in_one_call():
    calls = []

    class Recorder:
        def predict(self, inputs, scheme, nbest, min_score):
            calls.append((list(inputs), scheme, nbest))
            time.sleep(0.05)
            return [f"{scheme}:{item}" for item in inputs]

    async def run():
        batcher = Batcher(Recorder(), wait=0.02)
        batcher.start()
        results = await asyncio.gather(batcher.tag(["a", "b"], "IOB2", 0, 0.0), batcher.tag(["c"], "IOB2", 0, 0.0),
                                       batcher.tag(["d"], "BIOES", 0, 0.0), batcher.tag(["e"], "IOB2", 0, 0.0))
        await batcher.stop()
        return results

    results = asyncio.run(run())
    assert results == [["IOB2:a", "IOB2:b"], ["IOB2:c"], ["BIOES:d"], ["IOB2:e"]]
    assert sorted(calls) == [(["a", "b", "c", "e"], "IOB2", 0), (["d"], "BIOES", 0)]  # one call per option set


def test_the_page_tags_text_without_any_script(server):
    page = httpx.get(f"{server}/")
    assert page.status_code == 200 and "<textarea" in page.text and "<script" not in page.text
    tagged = httpx.post(f"{server}/", data={"text": TEXT})
    assert tagged.status_code == 200 and "<script" not in tagged.text
    assert 'title="PER, probability' in tagged.text and "Angela Merkel<span" in tagged.text
    assert "http" not in tagged.text.replace(server, "")
    linked = httpx.get(f"{server}/", params={"text": TEXT})  # a link to a tagged text
    assert linked.status_code == 200 and linked.text.count('title="') == tagged.text.count('title="') >= 3


def test_sigterm_finishes_the_requests_in_flight():
    port = free_port()
    process = start_server(MODEL, port)
    texts = [" ".join([TEXT] * 5)] * 1000  # 55,000 tokens: seconds of tagging

    async def request_then_stop():
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            pending = asyncio.create_task(client.post("/tag", json={"texts": texts}))
            await asyncio.sleep(0.3)  # the request is in
            process.send_signal(signal.SIGTERM)
            stopped = time.perf_counter()
            answer = await pending
            return answer, time.perf_counter() - stopped

    answer, after_the_signal = asyncio.run(request_then_stop())
    assert answer.status_code == 200 and len(answer.json()["results"]) == 1000
    assert after_the_signal > 0.2  # it was still being tagged when the signal came
    assert process.wait(timeout=30) in STOPPED


def test_workers_each_load_the_model_and_answer():
    port = free_port()
    process = start_server(MODEL, port, workers=2)
    try:
        load = asyncio.run(hold(f"http://127.0.0.1:{port}", [TEXT.split()], clients=8, seconds=1))
        assert load.failures == {} and load.latencies
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) in STOPPED
