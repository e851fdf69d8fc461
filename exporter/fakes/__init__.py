"""Local fakes of platform APIs, shaped like their documented answers, for tests and the demo."""
