"""Local fakes of the notification vendors' APIs, for tests and the demo estate.

Each module serves an aiohttp app shaped like one vendor's documented API (the module docstring
cites the pages it follows), records what it received, and can be scripted to fail by path:
429 with ``Retry-After``, 5xx, or a delay long enough to be a timeout (:mod:`.base`).
"""
