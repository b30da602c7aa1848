"""tagger inside other engines: ``tagger.integrations.ray`` (Ray Data), ``tagger.integrations.spacy`` (a spaCy
pipeline component)."""
