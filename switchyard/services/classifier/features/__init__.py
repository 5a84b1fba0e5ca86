"""Features the classifier derives from a prompt: token counts and the length-based complexity."""
