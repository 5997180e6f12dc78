"""One module per provider wire protocol, over a shared event model and error taxonomy."""
