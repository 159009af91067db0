"""Each hosted engine (OpenAI Videos, Replicate, fal) drives its real SDK against a stand-in of the provider's
HTTP API: success with progress, failures as ProviderError codes, rate limits with the provider's wait, a
slow job cancelled at the time limit, a dropped connection retried, a crashed attempt resumed without a
second job, cancel cancelling the provider's job, and the key in no log line or message."""

from __future__ import annotations

import logging

import av
import pytest

from framecast.domain.errors import Cancelled
from framecast.engines.base import Engine, EngineNotAvailable, GeneratedFile, ProviderError
from framecast.engines.hosted.common import JOB_KEY, STARTED_KEY
from tests.engines.hosted.conftest import Crash, Harness
from tests.fakes.engine_run import FakeRun
from tests.support.providers import RETRY_AFTER_S, StandIn


def _cancels(provider: Harness) -> list[str]:
    # OpenAI documents no cancel: the engine deletes the job.
    return provider.stand_in.deletes if provider.name == "openai" else provider.stand_in.cancels


def test_succeeds_with_provider_progress_and_the_file_downloaded(provider: Harness, run: FakeRun) -> None:
    engine = provider.engine()
    assert isinstance(engine, Engine)
    result = engine.generate(provider.request(), run)

    assert isinstance(result, GeneratedFile)
    assert result.path.parent == run.tmp
    assert result.path.read_bytes() == provider.stand_in.video
    with av.open(str(result.path)) as container:
        assert container.streams.video[0].frames == 24
    assert provider.stand_in.creations == 1
    assert run.saved[JOB_KEY] in provider.stand_in.jobs
    assert float(run.saved[STARTED_KEY]) > 0
    done = [d for d, _ in run.progressed]
    assert done == sorted(done) and done[-1] == 100 and all(t == 100 for _, t in run.progressed)
    assert 30 in done and 70 in done, run.progressed


def test_the_job_id_is_recorded_before_the_first_poll(provider: Harness, run: FakeRun) -> None:
    seen: list[tuple[int, dict[str, str]]] = []
    run.on_progress = lambda r: seen.append((provider.stand_in.polls, r.checkpoint()))
    provider.engine().generate(provider.request(), run)
    first_polls, first_checkpoint = seen[0]
    assert first_polls >= 1 and JOB_KEY in first_checkpoint


def test_the_provider_request_carries_the_options(provider: Harness, run: FakeRun) -> None:
    provider.engine().generate(provider.request(), run)
    (job,) = provider.stand_in.jobs.values()
    body = job.body
    if provider.name == "openai":
        assert body == {
            "prompt": "a lighthouse at dusk, waves",
            "model": "sora-2",
            "seconds": "4",
            "size": "1280x720",
        }
    elif provider.name == "replicate":
        assert body["model"] == "wan-video/wan-2.7-t2v"
        assert body["input"] == {
            "prompt": "a lighthouse at dusk, waves",
            "duration": 5,
            "aspect_ratio": "16:9",
            "resolution": "720p",
            "seed": 7,
        }
    else:
        assert body == {
            "prompt": "a lighthouse at dusk, waves",
            "duration": "5",
            "aspect_ratio": "16:9",
            "resolution": "720p",
            "seed": 7,
        }
        assert provider.stand_in.requests[0] == ("POST", "/fal-ai/wan-25-preview/text-to-video")


def test_a_failed_job_is_provider_unavailable_with_its_reason(provider: Harness, run: FakeRun) -> None:
    provider.stand_in.reset("fail")
    with pytest.raises(ProviderError) as caught:
        provider.engine().generate(provider.request(), run)
    assert caught.value.code == "provider_unavailable"
    assert "could not make this video" in caught.value.message


def test_a_refused_create_is_provider_rejected_prompt(provider: Harness, run: FakeRun) -> None:
    provider.stand_in.reset("reject")
    with pytest.raises(ProviderError) as caught:
        provider.engine().generate(provider.request(), run)
    assert caught.value.code == "provider_rejected_prompt"
    assert "refused this prompt" in caught.value.message
    assert provider.stand_in.creations == 0 and JOB_KEY not in run.saved


def test_a_job_refused_by_the_safety_check_is_provider_rejected_prompt(
    provider: Harness, run: FakeRun
) -> None:
    provider.stand_in.reset("reject_job")
    with pytest.raises(ProviderError) as caught:
        provider.engine().generate(provider.request(), run)
    assert caught.value.code == "provider_rejected_prompt"


def test_a_rate_limited_create_carries_the_providers_retry_after(provider: Harness, run: FakeRun) -> None:
    provider.stand_in.reset("rate_limited")
    with pytest.raises(ProviderError) as caught:
        provider.engine().generate(provider.request(), run)
    assert caught.value.code == "provider_rate_limited"
    assert caught.value.retry_after_s == RETRY_AFTER_S
    assert f"wait {RETRY_AFTER_S} s" in caught.value.message  # the wait survives into the project error
    assert caught.value.as_record()["retry_after_s"] == RETRY_AFTER_S
    assert provider.stand_in.creations == 0
    # Asked once: the worker is not held by an SDK's own retries (fal-client's would wait ~50 s, and ignore
    # the provider's Retry-After).
    assert [method for method, _ in provider.stand_in.requests] == ["POST"]


def test_a_create_whose_answer_is_lost_is_not_sent_again(provider: Harness, run: FakeRun) -> None:
    # The provider made the job, and the answer never came: sending the create again would make (and
    # bill) a second job. The project fails instead, as provider_unavailable.
    provider.stand_in.reset("drop_create")
    with pytest.raises(ProviderError) as caught:
        provider.engine().generate(provider.request(), run)
    assert caught.value.code == "provider_unavailable"
    assert provider.stand_in.dropped == 1
    assert provider.stand_in.creations == 1


def test_a_slow_job_times_out_and_is_cancelled(provider: Harness, run: FakeRun) -> None:
    provider.stand_in.reset("slow")
    with pytest.raises(ProviderError) as caught:
        provider.engine(timeout_s=0.3).generate(provider.request(), run)
    assert caught.value.code == "provider_timeout"
    assert _cancels(provider) == [run.saved[JOB_KEY]]


def test_a_dropped_connection_mid_poll_is_retried_and_the_job_finishes(
    provider: Harness, run: FakeRun
) -> None:
    provider.stand_in.reset("drop")
    result = provider.engine().generate(provider.request(), run)
    assert provider.stand_in.dropped == 1
    assert result.path.read_bytes() == provider.stand_in.video
    assert provider.stand_in.creations == 1


def test_a_provider_that_keeps_failing_is_unavailable_after_bounded_retries(
    provider: Harness, run: FakeRun
) -> None:
    provider.stand_in.reset("down")
    with pytest.raises(ProviderError) as caught:
        provider.engine(max_poll_errors=3).generate(provider.request(), run)
    assert caught.value.code == "provider_unavailable"
    assert provider.stand_in.polls == 3
    assert JOB_KEY in run.saved  # a later attempt resumes the same job


def test_a_crashed_attempt_resumes_the_recorded_job_without_creating_another(
    provider: Harness, tmp_path_factory: pytest.TempPathFactory
) -> None:
    def crash(run: FakeRun) -> None:
        raise Crash("worker killed")

    first = FakeRun(tmp=tmp_path_factory.mktemp("attempt1"), on_progress=crash)
    with pytest.raises(Crash):
        provider.engine().generate(provider.request(), first)
    assert provider.stand_in.creations == 1
    job_id = first.saved[JOB_KEY]

    # A new engine (a new worker process) and the checkpoint the task kept.
    second = FakeRun(tmp=tmp_path_factory.mktemp("attempt2"), saved=dict(first.saved))
    result = provider.engine().generate(provider.request(), second)
    assert provider.stand_in.creations == 1
    assert list(provider.stand_in.jobs) == [job_id]
    assert result.path.read_bytes() == provider.stand_in.video
    assert second.progressed[-1] == (100, 100)


def test_cancelling_mid_wait_cancels_the_providers_job(provider: Harness, run: FakeRun) -> None:
    provider.stand_in.reset("slow")
    run.on_progress = lambda r: r.cancelled.set()
    with pytest.raises(Cancelled):
        provider.engine().generate(provider.request(), run)
    assert _cancels(provider) == [run.saved[JOB_KEY]]


def test_cancel_with_a_checkpoint_cancels_the_providers_job(provider: Harness, run: FakeRun) -> None:
    provider.stand_in.reset("slow")
    run.on_progress = lambda r: (_ for _ in ()).throw(Crash("stop waiting"))
    with pytest.raises(Crash):
        provider.engine().generate(provider.request(), run)
    provider.engine().cancel(run.checkpoint())
    assert _cancels(provider) == [run.saved[JOB_KEY]]
    provider.engine().cancel({})  # nothing recorded: nothing to cancel
    assert len(_cancels(provider)) == 1


def test_a_project_cancelled_before_the_create_creates_nothing(provider: Harness, run: FakeRun) -> None:
    run.cancelled.set()
    with pytest.raises(Cancelled):
        provider.engine().generate(provider.request(), run)
    assert provider.stand_in.creations == 0


def test_a_wrong_key_is_unavailable_and_names_the_variable_not_the_key(
    provider: Harness, run: FakeRun
) -> None:
    engine = provider.engine(api_key="not-the-key-" + provider.key[::-1])
    with pytest.raises(ProviderError) as caught:
        engine.generate(provider.request(), run)
    assert caught.value.code == "provider_unavailable"
    variable = {"openai": "OPENAI_API_KEY", "replicate": "REPLICATE_API_TOKEN", "fal": "FAL_KEY"}[
        provider.name
    ]
    assert variable in caught.value.message
    assert provider.key[::-1] not in caught.value.message


@pytest.mark.parametrize("scenario", ["succeed", "fail", "reject", "reject_job", "slow", "drop", "down"])
def test_the_key_and_provider_urls_appear_in_no_log_line_or_message(
    provider: Harness,
    run: FakeRun,
    scenario: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider.stand_in.reset(scenario)
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    try:
        provider.engine(timeout_s=0.3, max_poll_errors=2).generate(provider.request(), run)
    except ProviderError as exc:
        messages += [exc.message, str(exc), repr(exc), repr(exc.as_dict())]
    text = "\n".join(messages + [r.getMessage() for r in caplog.records] + [caplog.text])
    secret = provider.key.split(":")[-1]
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert secret not in text
    assert provider.key not in repr(provider.settings())
    for message in messages:
        assert "http" not in message and provider.stand_in.host not in message, message


def test_info_says_what_the_model_accepts_and_check_refuses_the_rest(provider: Harness) -> None:
    engine = provider.engine()
    info = engine.info
    assert info.name == provider.name and not info.accepts_timeline and info.audio
    engine.check(provider.options, has_timeline=False)
    with pytest.raises(EngineNotAvailable) as caught:
        engine.check(provider.options, has_timeline=True)
    assert caught.value.field == "engine"
    with pytest.raises(EngineNotAvailable) as caught:
        engine.check(provider.options.model_copy(update={"duration_s": 1.0}), has_timeline=False)
    assert caught.value.field == "duration_s"
    with pytest.raises(EngineNotAvailable) as caught:
        engine.check(provider.options.model_copy(update={"fps": 60}), has_timeline=False)
    assert caught.value.field == "fps"
    if provider.name == "openai":
        assert info.durations_s == (4, 8, 12)
        with pytest.raises(EngineNotAvailable):
            engine.check(provider.options.model_copy(update={"aspect": "1:1"}), has_timeline=False)


def test_a_result_over_the_size_limit_is_not_stored(provider: Harness, run: FakeRun) -> None:
    with pytest.raises(ProviderError) as caught:
        provider.engine(max_download_bytes=len(provider.stand_in.video) - 1).generate(provider.request(), run)
    assert caught.value.code == "provider_unavailable"
    assert "not stored" in caught.value.message
    assert list(run.tmp.iterdir()) == []


def test_the_time_limit_counts_from_the_jobs_creation_across_attempts(
    provider: Harness, run: FakeRun
) -> None:
    provider.stand_in.reset("slow")

    def crash(r: FakeRun) -> None:
        raise Crash("worker killed")

    run.on_progress = crash
    with pytest.raises(Crash):
        provider.engine().generate(provider.request(), run)
    # The next attempt comes an hour after the job was created: past a 30-minute limit at once.
    run.saved[STARTED_KEY] = f"{float(run.saved[STARTED_KEY]) - 3600:.3f}"
    run.on_progress = None
    with pytest.raises(ProviderError) as caught:
        provider.engine(timeout_s=1800).generate(provider.request(), run)
    assert caught.value.code == "provider_timeout"
    assert provider.stand_in.creations == 1
    assert _cancels(provider) == [run.saved[JOB_KEY]]


def test_a_replicate_model_version_creates_through_the_predictions_endpoint(
    stand_ins: dict[str, object], run: FakeRun
) -> None:
    from framecast.engines.hosted.replicate_video import replicate_engine
    from tests.engines.hosted.conftest import KEYS, OPTIONS

    server = stand_ins["replicate"]
    assert isinstance(server, StandIn)
    server.reset()
    harness = Harness("replicate", server, KEYS["replicate"], replicate_engine, OPTIONS["replicate"])
    harness.engine(model="wan-video/wan-2.7-t2v:6c53841e185b").generate(harness.request(), run)
    assert server.requests[0] == ("POST", "/v1/predictions")
    (job,) = server.jobs.values()
    assert job.body["version"] == "6c53841e185b"
