"""A model's BiLSTM run by ONNX Runtime: ``Tagger.load(..., onnx=True)``, ``tag.py --onnx``.

On a CPU, ONNX Runtime's LSTM runs the recipe's BiLSTM on one sentence
about 2x faster than PyTorch's, and its int8 LSTM (``quantize``, ONNX
Runtime's ``DynamicQuantizeLSTM``) is faster again; ``tagger.bench`` measures
them. Only the LSTM moves; the rest of the model stays in PyTorch. Its ONNX
graph is built from the LSTM's weights at load time: one LSTM node between two
transposes, since ONNX Runtime's LSTM takes time-major inputs only.

Threads: a batch of one sentence or a few runs on the calling thread alone,
where splitting each time step's small matrix products costs more than it
saves; larger batches are split over all of PyTorch's threads (its count at
load time). Those threads only get the cores if PyTorch's own OpenMP threads
are not spinning on them, as they do for a while after each multi-threaded
operation: so while a tagger runs (``one_torch_thread``), PyTorch does its
share, all of it small, on one thread.

Needs the ``onnx`` extra: ``pip install 'tagger[onnx]'``.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from .errors import TaggerError
from .model import BiLSTMCRF, Ensemble, members_of


class OnnxLSTM(nn.Module):
    """``nn.LSTM``'s forward for inference (one layer, bidirectional, batch first), run by ONNX Runtime.

    Takes (B, T, input_size) tensors or a ``PackedSequence`` of them, like the
    LSTM it replaces, and returns (B, T, 2 * hidden_size) outputs (packed if
    the input was) and no final states. The weights are copied into the ONNX
    graph: later changes to the original LSTM do not reach it. Batches of
    ``_SPLIT_FROM`` sentences or more are split over ``threads`` threads.
    """

    def __init__(self, lstm: nn.LSTM, quantize: bool = False, threads: int = 1):
        super().__init__()
        if lstm.num_layers != 1 or not lstm.bidirectional or not lstm.batch_first or lstm.proj_size or not lstm.bias:
            raise ValueError("OnnxLSTM takes a one-layer, bidirectional, batch-first nn.LSTM with biases")
        onnxruntime = _import("onnxruntime")
        self.input_size, self.hidden_size = lstm.input_size, lstm.hidden_size
        self.quantized, self.threads = quantize, threads
        graph = _lstm_graph(lstm)
        model = _quantized(graph) if quantize else graph.SerializeToString()

        def runtime(threads: int) -> onnxruntime.InferenceSession:
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
            # Waiting threads sleep rather than spin: an ensemble holds an InferenceSession per member,
            # and spinning threads of one took the cores from the next (measured).
            options.add_session_config_entry(*ALLOW_SPINNING_OFF)
            return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])

        self._narrow = runtime(1)
        self._wide = runtime(threads) if threads > 1 else self._narrow

    def forward(self, inputs: Tensor | PackedSequence) -> tuple[Tensor | PackedSequence, None]:
        if self.training:
            raise RuntimeError("OnnxLSTM only runs inference: put the model in eval mode (it has no gradients)")
        packed = isinstance(inputs, PackedSequence)
        if packed:
            padded, lengths = pad_packed_sequence(inputs, batch_first=True)
        else:
            padded, lengths = inputs, torch.full((inputs.shape[0],), inputs.shape[1])
        runtime = self._wide if padded.shape[0] >= _SPLIT_FROM else self._narrow
        outputs = runtime.run(None, {
            "inputs": padded.detach().float().contiguous().numpy(),
            "lengths": lengths.numpy().astype(np.int32),
        })[0]
        outputs = torch.from_numpy(outputs)  # shape: (B, T, 2 * hidden_size), zeros past each sequence's end
        if packed:
            return pack_padded_sequence(outputs, lengths, batch_first=True, enforce_sorted=False), None
        return outputs, None

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, bidirectional, {'int8' if self.quantized else 'float32'}, "
                f"threads={self.threads}")


# From this many sentences in a batch, splitting it over threads pays (measured: at 4 one thread
# is faster, at 16 two threads are 1.3x faster, at 128 1.8x).
ALLOW_SPINNING_OFF = ("session.intra_op.allow_spinning", "0")  # an onnxruntime.SessionOptions entry
_SPLIT_FROM = 8


def with_onnx_lstm(model: BiLSTMCRF | Ensemble, quantize: bool = False, threads: int | None = None
                   ) -> BiLSTMCRF | Ensemble:
    """``model``, in eval mode, with its LSTM (each member's) run in ONNX Runtime (int8 weights if ``quantize``).

    ``threads``: how many large batches are split over (default: PyTorch's thread count).
    In place: a copy would double the memory of the word vectors for nothing, the
    caller (``Tagger.load``) having just loaded the model for this.
    """
    threads = threads or torch.get_num_threads()
    for network in members_of(model):
        network.lstm = OnnxLSTM(network.lstm, quantize=quantize, threads=threads)
    return model.eval()


def runs_onnx(model: BiLSTMCRF | Ensemble) -> bool:
    """Whether the model's LSTM (any member's) runs in ONNX Runtime."""
    return any(isinstance(network.lstm, OnnxLSTM) for network in members_of(model))


# PyTorch's thread count belongs to the process, and so does this count of the calls borrowing it.
_one_thread_lock = threading.Lock()
_one_thread_users = 0
_torch_threads = 0


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """PyTorch on one thread while the block runs, so that ONNX Runtime's threads get the other cores.

    Calls may overlap (from several Python threads): the first one in sets one
    thread, the last one out restores the count it found.
    """
    global _one_thread_users, _torch_threads
    with _one_thread_lock:
        if _one_thread_users == 0:
            _torch_threads = torch.get_num_threads()
            torch.set_num_threads(1)
        _one_thread_users += 1
    try:
        yield
    finally:
        with _one_thread_lock:
            _one_thread_users -= 1
            if _one_thread_users == 0:
                torch.set_num_threads(_torch_threads)


def _import(name: str):
    try:
        return __import__(name)
    except ImportError:
        raise TaggerError(f"running the LSTM in ONNX Runtime (--onnx) needs the {name} package: "
                          "pip install 'tagger[onnx]'") from None


def _gates(weights: Tensor) -> np.ndarray:
    """Rows of the four gates in ONNX's order (input, output, forget, cell) from PyTorch's (input, forget, cell, output)."""
    input_gate, forget, cell, output = weights.detach().float().chunk(4)
    return torch.cat([input_gate, output, forget, cell]).numpy()


def _lstm_graph(lstm: nn.LSTM):
    """The ONNX model: (B, T, input) "inputs" and (B,) int32 "lengths" -> (B, T, 2 * hidden) "outputs"."""
    onnx = _import("onnx")
    from onnx import TensorProto, helper, numpy_helper

    directions = ("", "_reverse")
    weights = {
        "W": np.stack([_gates(getattr(lstm, f"weight_ih_l0{d}")) for d in directions]),  # (2, 4H, input)
        "R": np.stack([_gates(getattr(lstm, f"weight_hh_l0{d}")) for d in directions]),  # (2, 4H, H)
        "B": np.stack([np.concatenate([_gates(getattr(lstm, f"bias_ih_l0{d}")), _gates(getattr(lstm, f"bias_hh_l0{d}"))])
                       for d in directions]),  # (2, 8H)
        "shape": np.array([0, 0, -1], dtype=np.int64),
    }
    nodes = [
        helper.make_node("Transpose", ["inputs"], ["steps"], perm=[1, 0, 2]),  # (T, B, input)
        helper.make_node("LSTM", ["steps", "W", "R", "B", "lengths"], ["states"], direction="bidirectional",
                         hidden_size=lstm.hidden_size),  # (T, 2, B, H)
        helper.make_node("Transpose", ["states"], ["by_sentence"], perm=[2, 0, 1, 3]),  # (B, T, 2, H)
        helper.make_node("Reshape", ["by_sentence", "shape"], ["outputs"]),  # (B, T, 2H): forward, then backward
    ]
    graph = helper.make_graph(
        nodes, "bilstm",
        [helper.make_tensor_value_info("inputs", TensorProto.FLOAT, ["batch", "steps", lstm.input_size]),
         helper.make_tensor_value_info("lengths", TensorProto.INT32, ["batch"])],
        [helper.make_tensor_value_info("outputs", TensorProto.FLOAT, ["batch", "steps", 2 * lstm.hidden_size])],
        initializer=[numpy_helper.from_array(array, name) for name, array in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    return model


def _quantized(model) -> bytes:
    """The serialized model with ONNX Runtime's dynamic int8 quantization of its weights."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as directory, _without_preprocessing_advice():
        path = Path(directory) / "bilstm-int8.onnx"
        quantize_dynamic(model, path, weight_type=QuantType.QInt8)
        return path.read_bytes()


_PREPROCESSING_ADVICE = "Please consider to run pre-processing before quantization"


@contextlib.contextmanager
def _without_preprocessing_advice() -> Iterator[None]:
    """ONNX Runtime's ``quantize_dynamic`` without its advice to pre-process the model first.

    It gives that advice with ``logging.warning``, which printed it on every
    ``--onnx --quantize`` load and, in a program that had not set up logging,
    set up the root logger as a side effect (``logging.basicConfig``). Here
    the advice does not apply: pre-processing (``quant_pre_process``) took 0.25 s
    an LSTM and gave the same outputs. So while quantizing, the root logger
    drops that one message, and holds a handler that prints nothing if it had none
    (one quantization at a time, so that one's handler is not taken away under another).
    """
    root = logging.getLogger()

    def not_the_advice(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_PREPROCESSING_ADVICE)

    with _quantizing:
        placeholder = logging.NullHandler() if not root.handlers else None
        if placeholder is not None:
            root.addHandler(placeholder)
        root.addFilter(not_the_advice)
        try:
            yield
        finally:
            root.removeFilter(not_the_advice)
            if placeholder is not None:
                root.removeHandler(placeholder)


_quantizing = threading.Lock()
