"""Notification channels: one module per notifier, one shared delivery policy.

- :mod:`.base` — :class:`~.base.Notification`, :class:`~.base.Payload`,
  :class:`~.base.SendResult`, :class:`~.base.MessageRef`, the :class:`~.base.Notifier` Protocol
- :mod:`.registry` — config ``type`` → notifier; builds every channel at start-up
- :mod:`.delivery` — retries, Retry-After, backoff, delivery log, dead letters, metrics
- one module per channel: :mod:`.slack`, :mod:`.email_smtp`, :mod:`.email_ses`, :mod:`.webhook`,
  :mod:`.twilio`, :mod:`.pagerduty`, :mod:`.opsgenie`
- :mod:`.slack_interactions` — verifying and parsing Slack button clicks
"""
