"""tagger inside other engines: ``tagger.integrations.ray`` (Ray Data)."""
