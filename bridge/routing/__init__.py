"""Which channels hear about an alert, when they may, and how fast (issue 6, item 2)."""
