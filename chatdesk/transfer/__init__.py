"""Import and export of conversation history."""
