"""The model directory: ``config.json`` + ``model.safetensors`` (+ ``metrics.jsonl``).

Nothing here unpickles: a model directory is JSON and safetensors only, so
loading one never runs code. Each file is written to a temporary name and
renamed into place, so a crash leaves the old file or the new one, never half
of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .encoding import Encoder
from .errors import TaggerError, counted
from .model import BiLSTMCRF, Ensemble, ModelConfig, members_of
from .version import __version__

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.safetensors"
FORMAT_VERSION = 1


class ModelError(TaggerError):
    """A model directory that cannot be loaded; ``str()`` says which file and why."""


def write_atomically(path: Path, write) -> None:
    """Call ``write(temporary_path)``, then rename the result to ``path``."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's (and safetensors') 0600 would hide shared models
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(directory: Path) -> None:
    """Delete temporary files a killed writer left behind (the files they were to replace are intact)."""
    for path in directory.glob(".*.tmp"):
        path.unlink(missing_ok=True)


def save_config(directory: Path, model_config: ModelConfig, encoder: Encoder, **settings: Any) -> None:
    """Write ``config.json``: network sizes, vocabularies and any other ``settings`` (JSON values).

    When the fixed word vectors come from a vector package (``fixed_vectors``),
    their words are not written either: loading lists them from the package
    again, and checks them against the digest written in their place.
    """
    encoder_settings = encoder.to_dict()
    if model_config.fixed_vectors:
        names = encoder.words.names
        kept = len(names) - model_config.fixed_words
        encoder_settings["words"] = {**encoder_settings["words"], "names": names[:kept],
                                     "fixed_names_sha256": _digest(names[kept:])}
    config = {
        "format": FORMAT_VERSION,
        "tagger_version": __version__,
        "model": model_config.to_dict(),
        **settings,
        "encoder": encoder_settings,
    }
    text = json.dumps(config, ensure_ascii=False, indent=1)
    write_atomically(directory / CONFIG_FILE, lambda path: path.write_text(text, encoding="utf-8"))


def update_config(directory: Path, **settings: Any) -> None:
    """Set ``settings`` (JSON values) in the ``config.json`` of ``directory``, leaving the rest as it is."""
    path = directory / CONFIG_FILE
    config = {**json.loads(path.read_text(encoding="utf-8")), **settings}
    text = json.dumps(config, ensure_ascii=False, indent=1)
    write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def save_weights(directory: Path, model: BiLSTMCRF, dtype: torch.dtype | None = None) -> None:
    """Write ``model.safetensors`` from the model's parameters (cast to ``dtype`` if given, e.g. float16)."""
    state = {name: tensor.detach().to("cpu", dtype or tensor.dtype).contiguous()
             for name, tensor in model.state_dict().items()}
    write_atomically(directory / WEIGHTS_FILE, lambda path: save_file(state, str(path), metadata={"format": "pt"}))


def save_checkpoint(directory: Path, tensors: dict[str, torch.Tensor], state: dict) -> None:
    """Write ``checkpoint.safetensors``: named tensors, and ``state`` (JSON values) in its metadata."""
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()}
    metadata = {"format": str(FORMAT_VERSION), "state": json.dumps(state)}
    write_atomically(directory / CHECKPOINT_FILE, lambda path: save_file(tensors, str(path), metadata=metadata))


def load_checkpoint(directory: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors and the state saved by ``save_checkpoint``."""
    path = directory / CHECKPOINT_FILE
    if not path.is_file():
        raise ModelError(f"{path}: missing; nothing to resume (checkpoints are written at the end of each epoch)")
    try:
        with safe_open(str(path), framework="pt") as checkpoint:
            metadata = checkpoint.metadata() or {}
            tensors = {name: checkpoint.get_tensor(name) for name in checkpoint.keys()}
        state = json.loads(metadata["state"])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as error:
        raise ModelError(f"{path}: not a tagger checkpoint ({error})") from None
    return tensors, state


def append_metrics(directory: Path, record: dict) -> None:
    with open(directory / METRICS_FILE, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")


PACKAGED_MODELS = Path(__file__).parent / "models"
DEFAULT_MODEL = "en-conll03"


def packaged_models() -> list[str]:
    return sorted(path.name for path in PACKAGED_MODELS.glob("*") if (path / CONFIG_FILE).is_file())


def resolve_model(name_or_path: str | Path | None = None) -> Path:
    """A model directory from a path, the name of a model shipped in the package, or None (the default model)."""
    name = DEFAULT_MODEL if name_or_path is None else str(name_or_path)
    if not Path(name).is_dir() and name in packaged_models():
        return PACKAGED_MODELS / name
    return Path(name)


def read_config(directory: Path) -> dict:
    path = directory / CONFIG_FILE
    if not directory.is_dir():
        shipped = ", ".join(packaged_models()) or "none"
        raise ModelError(f"{directory}: no such model directory (models shipped with tagger: {shipped})")
    if not path.is_file():
        raise ModelError(f"{path}: missing; a model directory holds {CONFIG_FILE} and {WEIGHTS_FILE}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT_VERSION:
        found = config.get("format") if isinstance(config, dict) else None
        raise ModelError(
            f"{path}: model format {found!r} is not supported by tagger {__version__} (expects {FORMAT_VERSION})"
        )
    return config


def _digest(names: list[str]) -> str:
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()


def build_model(config: dict, config_path: Path) -> tuple[BiLSTMCRF | Ensemble, Encoder]:
    """A model with the sizes (and fixed vectors) of a ``config.json``, untrained, and its encoder.

    With ``"members": N`` (N > 1) in the config, an ``Ensemble`` of N such
    networks, which share one table of fixed vectors.
    """
    try:
        model_config = ModelConfig(**config["model"])
        encoder_settings = dict(config["encoder"])
        fixed = None
        if model_config.fixed_vectors:
            fixed, encoder_settings["words"] = _fixed_vectors(model_config, encoder_settings["words"], config_path)
        encoder = Encoder.from_dict(encoder_settings)
        model = _networks(config)
    except ModelError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError(f"{config_path}: incomplete or invalid model settings ({error})") from None
    if fixed is not None:
        members_of(model)[0].fixed_word_vectors.copy_(torch.from_numpy(fixed))  # the members share one table
    return model, encoder


def _networks(config: dict) -> BiLSTMCRF | Ensemble:
    """The network (or ``Ensemble``) of a ``config.json``'s sizes, with fresh weights and zero fixed vectors."""
    members = int(config.get("members", 1))
    model_config = ModelConfig(**config["model"])
    networks = [BiLSTMCRF(model_config) for _ in range(max(1, members))]
    return networks[0] if len(networks) == 1 else Ensemble(networks)


class _Uninitialised(torch.overrides.TorchFunctionMode):
    """Layers made within it keep their weights as made: random fills do nothing.

    For a network on the meta device, whose weights hold no values to fill:
    there, ``normal_`` runs a Python implementation that imports torch's
    compiler (1.2 s, three times what loading a model takes otherwise).
    """

    FILLS = frozenset({torch.nn.init.normal_, torch.nn.init.uniform_, torch.Tensor.normal_, torch.Tensor.uniform_})

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.FILLS:  # the tensor filled: the first argument, or torch.nn.init's ``tensor``
            return args[0] if args else kwargs["tensor"]
        return func(*args, **(kwargs or {}))


def _check_sizes(config: dict, config_path: Path, weights_path: Path) -> None:
    """A ``ModelError`` unless ``config.json``'s sizes are those of the weights file's tensors.

    Checked against the file's header before any weight is allocated, so that a
    crafted config cannot make loading exhaust memory (a vocabulary of 10^12 words).
    """
    try:
        with safe_open(str(weights_path), framework="pt") as weights:
            found = {name: list(weights.get_slice(name).get_shape()) for name in weights.keys()}
    except (SafetensorError, OSError) as error:
        raise ModelError(
            f"{weights_path}: not a safetensors file ({error}); models are never loaded from pickles"
        ) from None
    networks = len({name.split(".")[1] for name in found if name.startswith("members.")}) or 1
    try:
        members = int(config.get("members", 1))
        if max(1, members) != networks:
            raise ValueError(f"members {members}, but the weights hold {counted(networks, 'network')}")
        with torch.device("meta"), _Uninitialised():  # shapes only: no memory, no computing
            expected = {name: list(tensor.shape) for name, tensor in _networks(config).state_dict().items()}
    except (KeyError, TypeError, ValueError, RuntimeError) as error:  # RuntimeError: a negative size
        raise ModelError(f"{config_path}: incomplete or invalid model settings ({error})") from None
    if expected != found:
        name = next(name for name in sorted({*expected, *found}) if expected.get(name) != found.get(name))
        raise ModelError(f"{weights_path}: weights do not match {CONFIG_FILE}: {name} is "
                         f"{found.get(name, 'missing')} in the weights, {expected.get(name, 'absent')} in the config")


def _fixed_vectors(model_config: ModelConfig, words: dict, config_path: Path):
    """The fixed vectors from their package, and the word vocabulary settings with their words added."""
    from .embeddings import VECTOR_PACKAGES, load_embeddings, vectors_beyond

    package = VECTOR_PACKAGES.get(model_config.fixed_vectors)
    if package is None:  # never a path: a model directory is not to make loading open files of its choosing
        raise ModelError(f"{config_path}: fixed_vectors {model_config.fixed_vectors!r} is not a vector package "
                         f"tagger knows ({', '.join(sorted(VECTOR_PACKAGES))})")
    if model_config.word_dim != package.dim or not 0 < model_config.fixed_words <= package.words:
        raise ModelError(f"{config_path}: {model_config.fixed_words} fixed words of {model_config.word_dim} dimensions "
                         f"do not fit '{model_config.fixed_vectors}' ({package.words} words of {package.dim})")
    names, vectors = vectors_beyond(load_embeddings(model_config.fixed_vectors), set(words["names"]))
    if len(names) != model_config.fixed_words or _digest(names) != words.get("fixed_names_sha256"):
        raise ModelError(
            f"{config_path}: the installed '{model_config.fixed_vectors}' vectors are not those the model was "
            f"trained with ({len(names)} words beyond its vocabulary, expected {model_config.fixed_words})"
        )
    return vectors, {"names": words["names"] + names, "unknown": words["unknown"]}


def load_model(directory: str | Path) -> tuple[BiLSTMCRF | Ensemble, Encoder, dict]:
    """The model (in eval mode), its encoder and its full config, read from ``directory``."""
    directory = Path(directory)
    config = read_config(directory)
    weights_path = directory / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ModelError(f"{weights_path}: missing")
    _check_sizes(config, directory / CONFIG_FILE, weights_path)
    model, encoder = build_model(config, directory / CONFIG_FILE)
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError) as error:
        raise ModelError(
            f"{weights_path}: not a safetensors file ({error}); models are never loaded from pickles"
        ) from None
    try:
        model.load_state_dict({name: tensor.float() for name, tensor in state.items()})
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        raise ModelError(f"{weights_path}: weights do not match {CONFIG_FILE}: {' '.join(first[:3])}") from None
    model.eval()
    return model, encoder, config


def load_members(directories: list[Path]) -> tuple[Ensemble, Encoder, list[dict]]:
    """Trained models read as one ``Ensemble`` (in eval mode), their shared encoder, and each one's config.

    They must have one vocabulary and one network configuration: models of
    one corpus and one set of options, whatever their seeds.
    """
    loaded = [load_model(directory) for directory in directories]
    _, encoder, _ = loaded[0]
    for directory, (model, other, _) in zip(directories[1:], loaded[1:]):
        if other.to_dict() != encoder.to_dict():
            raise ModelError(f"{directory}: its vocabularies differ from those of {directories[0]}; ensemble "
                             "members are trained on one corpus with the same options")
        if model.config != loaded[0][0].config:
            first, this = loaded[0][0].config.to_dict(), model.config.to_dict()
            differing = ", ".join(f"{name} {this[name]} against {first[name]}" for name in first
                                  if this[name] != first[name])
            raise ModelError(f"{directory}: its network differs from that of {directories[0]} ({differing})")
    for directory, (model, _, _) in zip(directories, loaded):
        if isinstance(model, Ensemble):
            raise ModelError(f"{directory}: is an ensemble already; give its members")
    return Ensemble([model for model, _, _ in loaded]).eval(), encoder, [config for _, _, config in loaded]

