"""AI services: the intent of a segment, a campaign's summary, message suggestions, words to rules."""
