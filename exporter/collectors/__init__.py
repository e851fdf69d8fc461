"""Platform collectors. Each module holds one collector and its pydantic config model."""
