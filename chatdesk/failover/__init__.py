"""Provider health and the router that gets one whole answer across providers."""
