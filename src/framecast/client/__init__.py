"""The Python SDK (httpx only; never imports server modules).

>>> from framecast.client import Client
>>> client = Client("http://127.0.0.1:8000")                       # doctest: +SKIP
>>> project = client.create_project(prompt="A calm ocean at dawn", duration_s=4)
>>> for event in client.events(project["id"]): ...
>>> client.download(client.wait(project["id"], timeout=600)["url"], "ocean.mp4")

Receiving webhooks: ``framecast.client.webhooks.verify(body, headers, secret)``.
"""

from framecast.client.aio import AsyncClient
from framecast.client.errors import ClientError, WaitTimeout
from framecast.client.follow import WaitProgress
from framecast.client.sync import Client

__all__ = ["AsyncClient", "Client", "ClientError", "WaitProgress", "WaitTimeout"]
