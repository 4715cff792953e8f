"""sessionwatch's own runner (``sessionwatch run``) for clusters without Watcher."""

from sessionwatch.runner.loop import Runner, RunnerOptions, Summary
from sessionwatch.runner.webhook import Delivery, WebhookClient

__all__ = ["Delivery", "Runner", "RunnerOptions", "Summary", "WebhookClient"]
