"""The hosted engines a service has configured, built from its Settings (one function per registry entry).

Each returns None when its provider key is not set, so a service without keys lists no hosted engine; the
SDK is imported only when the engine is built. ``HostedConfig`` names the Settings fields these read
(``framecast.settings.Settings`` has them), so this module needs nothing above the engines room.

>>> from types import SimpleNamespace
>>> openai_from_settings(SimpleNamespace(openai_api_key=None)) is None
True
"""

from __future__ import annotations

from typing import Protocol

from pydantic import SecretStr

from framecast.engines.hosted.common import HostedEngine, HostedSettings


class HostedConfig(Protocol):
    """The Settings fields of the hosted engines (FRAMECAST_…, and the providers' own key variables)."""

    @property
    def openai_api_key(self) -> SecretStr | None: ...
    @property
    def openai_video_model(self) -> str: ...
    @property
    def openai_base_url(self) -> str | None: ...
    @property
    def replicate_api_token(self) -> SecretStr | None: ...
    @property
    def replicate_video_model(self) -> str: ...
    @property
    def replicate_base_url(self) -> str | None: ...
    @property
    def fal_key(self) -> SecretStr | None: ...
    @property
    def fal_video_model(self) -> str: ...
    @property
    def hosted_poll_interval_s(self) -> float: ...
    @property
    def hosted_timeout_s(self) -> float: ...
    @property
    def hosted_max_download_mb(self) -> float: ...
    @property
    def hosted_download_timeout_s(self) -> float: ...


#: The SDK each provider key needs (the optional extra ``hosted``).
_SDKS = {"OPENAI_API_KEY": "openai", "REPLICATE_API_TOKEN": "replicate", "FAL_KEY": "fal_client"}


def _require_sdk(variable: str) -> None:
    """Fail at start-up, with the fix, when a key is set but its SDK is not installed."""
    import importlib.util

    if importlib.util.find_spec(_SDKS[variable]) is None:
        raise RuntimeError(
            f"{variable} is set but the {_SDKS[variable]} SDK is not installed: "
            "pip install 'framecast[hosted]'"
        )


def _settings(config: HostedConfig, key: SecretStr, model: str, base_url: str | None) -> HostedSettings:
    return HostedSettings(
        api_key=key.get_secret_value(),
        model=model,
        base_url=base_url or None,
        poll_interval_s=config.hosted_poll_interval_s,
        timeout_s=config.hosted_timeout_s,
        max_download_bytes=int(config.hosted_max_download_mb * 1_000_000),
        download_timeout_s=config.hosted_download_timeout_s,
    )


def openai_from_settings(config: HostedConfig) -> HostedEngine | None:
    """The ``openai`` engine when OPENAI_API_KEY is set."""
    if config.openai_api_key is None or not config.openai_api_key.get_secret_value():
        return None
    _require_sdk("OPENAI_API_KEY")
    from framecast.engines.hosted.openai_videos import openai_engine

    return openai_engine(
        _settings(config, config.openai_api_key, config.openai_video_model, config.openai_base_url)
    )


def replicate_from_settings(config: HostedConfig) -> HostedEngine | None:
    """The ``replicate`` engine when REPLICATE_API_TOKEN is set."""
    if config.replicate_api_token is None or not config.replicate_api_token.get_secret_value():
        return None
    _require_sdk("REPLICATE_API_TOKEN")
    from framecast.engines.hosted.replicate_video import replicate_engine

    return replicate_engine(
        _settings(config, config.replicate_api_token, config.replicate_video_model, config.replicate_base_url)
    )


def fal_from_settings(config: HostedConfig) -> HostedEngine | None:
    """The ``fal`` engine when FAL_KEY is set (its queue host: fal-client's FAL_QUEUE_RUN_HOST)."""
    if config.fal_key is None or not config.fal_key.get_secret_value():
        return None
    _require_sdk("FAL_KEY")
    from framecast.engines.hosted.fal_video import fal_engine

    return fal_engine(_settings(config, config.fal_key, config.fal_video_model, None))
