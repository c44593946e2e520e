"""One job through the service with the real models (the other service tests use rule-based stand-ins).

Asserts only what any correct tagger gives: an event at each knock, no caption of speech, the float
tagger's version recorded in events.json.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_server import KEY_A, Server, client, wait_job

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("real") / "data", {"SOUNDCUE_ANALYZER": "captioning.pipeline:analyze",
                                                             "SOUNDCUE_WORKERS": "1"}).start()
    yield srv
    srv.stop()


def test_knocks_job_with_the_real_models(real_server: Server, knocks_wav: Path) -> None:
    with client(real_server, KEY_A) as http, knocks_wav.open("rb") as f:
        r = http.post("/v1/jobs", files={"file": ("knocks.wav", f, "audio/wav")})
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        job = wait_job(http, job_id, timeout_s=120.0)
        assert job["status"] == "succeeded", job
        events = http.get(f"/v1/jobs/{job_id}/events.json").json()
    assert events["models"]["audio_tagger"].startswith("yamnet-float32")
    starts = [e["start"] for e in events["events"] if not e["background"]]
    for knock_s in (1.0, 2.5, 4.2):
        assert any(abs(s - knock_s) <= 0.05 for s in starts), (knock_s, starts)
