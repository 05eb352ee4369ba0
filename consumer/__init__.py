"""spanstream.consumer (work in progress)."""
