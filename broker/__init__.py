"""spanstream.broker (work in progress)."""
