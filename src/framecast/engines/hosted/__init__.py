"""Hosted video APIs as engines: OpenAI Videos, Replicate and fal, each through its official SDK.

Every provider follows the same path (``common.HostedEngine``): create the provider's job and record its id on
the task before waiting, poll it (provider progress becomes ``render_progress``), cancel it when the project
is cancelled or the wait runs out, download the result into the attempt's scratch directory, and turn
every provider failure into a ``ProviderError`` with a stable code. A provider module only says how its SDK
creates, reads, downloads and cancels a job, and how its errors map to those codes.

The SDKs are the optional extra ``hosted`` (``pip install 'framecast[hosted]'``); a module imports its SDK
only when its engine is built, so a service without the extra never loads them.
"""
