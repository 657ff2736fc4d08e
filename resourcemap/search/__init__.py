"""The spatial questions the service answers. Every query is a named function here, with its SQL beside it."""
