from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "corpora" / "sample"
CONLL2003 = ROOT.parent / "shared" / "corpora" / "conll2003"


@pytest.fixture(scope="session")
def sample_model(tmp_path_factory):
    """A model trained on the sample corpus (shared by the tests that need one)."""
    from tagger.corpus import read_corpus
    from tagger.training import TrainingConfig, train

    output = tmp_path_factory.mktemp("model")
    config = TrainingConfig(epochs=12, patience=12, seed=3)
    best = train(
        read_corpus(SAMPLE / "train.conll"),
        read_corpus(SAMPLE / "dev.conll"),
        output,
        config,
        {"hidden_size": 64},
        source_scheme="IOB2",
        log=lambda message: None,
    )
    return output, best
