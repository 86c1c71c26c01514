"""Trained-model files: the network's spec text, its weights (+-1, or -1/0/+1 in ternary groups),
the count of links they keep, and free-form metadata, as JSON;
or a one-vs-one ensemble of such networks (format version 2).

The format is described in ``docs/model-format.md``.  JSON keeps the files readable, diffable and
independent of pickle; the spec is stored as description-language text so that a model file is
self-contained.  Writes are atomic (a temporary file in the same folder, then :func:`os.replace`),
so an interrupted save never leaves a truncated model behind.  The temporary file's name holds the
writer's process id, so a save cleans up what a killed writer left (``.NAME.PID.XXXX.tmp``).
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qubonn.errors import ModelFileError, SpecError
from qubonn.network import Network, Weights

FORMAT_NAME = "qubonn-model"
#: the newest version this qubonn reads; a single network is still written as version 1 (so
#: older readers keep reading it), an ensemble as version 2
FORMAT_VERSION = 2
SINGLE_VERSION = 1
ENSEMBLE_VERSION = 2
ENSEMBLE_KINDS = ("ovo",)


@dataclass(frozen=True)
class TrainedModel:
    """A network with trained weights and metadata (e.g. ``classes``, the data set, the solver)."""

    network: Network
    weights: Weights
    metadata: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):  # allows ``network, weights, metadata = load_model(path)``
        return iter((self.network, self.weights, self.metadata))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class labels of +-1 inputs X, using ``metadata["classes"]``.

        One output: +1 gives ``classes[1]``, -1 gives ``classes[0]``.  Several outputs (one per
        class): the class whose output has the largest pre-activation (the first on ties).
        """
        classes = self.metadata.get("classes")
        if classes is None:
            raise ModelFileError(
                "this model has no 'classes' in its metadata, so it cannot map outputs to labels; "
                "use network.forward(X, weights) for the raw activations"
            )
        classes = np.asarray(check_classes(classes, self.network.n_outputs))
        return classes[self.network.predict_classes(X, self.weights)]


@dataclass(frozen=True)
class EnsembleModel:
    """A one-vs-one ensemble: one single-output network (``network``, shared by every member)
    trained per pair of classes; ``members`` holds ``((negative, positive), weights)``.

    ``predict`` is scikit-learn's ``OneVsOneClassifier`` vote: each member votes for the class
    its output picks; ties between classes go to the larger sum of the members' confidences
    (the output pre-activation + 1/2, as ``BNNClassifier.decision_function``), squashed so
    that it never outweighs a vote.  ``metadata["classes"]`` lists every class."""

    network: Network
    members: tuple[tuple[tuple[Any, Any], Weights], ...]
    metadata: dict[str, Any] = field(default_factory=dict)
    kind: str = "ovo"

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class labels of +-1 inputs X by the members' vote."""
        classes = list(self.metadata["classes"])
        index = {c: i for i, c in enumerate(classes)}
        votes = np.zeros((len(X), len(classes)))
        confidence = np.zeros((len(X), len(classes)))
        for (neg, pos), weights in self.members:
            z = self.network.predict_outputs(X, weights)[1][:, 0] + 0.5
            i, j = index[neg], index[pos]
            votes[:, j] += z > 0
            votes[:, i] += z <= 0
            confidence[:, i] -= z
            confidence[:, j] += z
        score = votes + confidence / (3 * (np.abs(confidence) + 1))
        return np.asarray(classes)[np.argmax(score, axis=1)]


def check_classes(classes: Any, n_outputs: int, where: str = "the model") -> list:
    """``metadata.classes`` as a list: distinct labels (numbers or strings, not lists or
    objects), 2 for one output, one per output otherwise.  Raises :class:`ModelFileError`
    naming ``where`` and the field, so a bad file fails at load, not at the first predict."""
    field_name = f"{where}: 'metadata.classes'"
    if not isinstance(classes, list | tuple | np.ndarray):
        raise ModelFileError(
            f"{field_name} must be a list of class labels, not {type(classes).__name__} "
            f"{_short(classes)}"
        )
    classes = classes.tolist() if isinstance(classes, np.ndarray) else list(classes)
    for i, c in enumerate(classes):
        if isinstance(c, bool) or not isinstance(c, int | float | str):
            raise ModelFileError(
                f"{field_name}[{i}] is {_short(c)}; class labels must be numbers or strings "
                "(not nested lists or objects)"
            )
    dupes = sorted({repr(c) for c in classes if classes.count(c) > 1})
    if dupes:
        raise ModelFileError(f"{field_name} lists {', '.join(dupes)} more than once")
    need = 2 if n_outputs == 1 else n_outputs
    if len(classes) != need:
        which = "a single-output model" if n_outputs == 1 else f"a model with {n_outputs} outputs"
        raise ModelFileError(f"{field_name} has {len(classes)} labels; {which} needs {need}")
    return classes


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and tuples in metadata to plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def model_to_dict(
    network: Network, weights: Weights, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON document of a model (see docs/model-format.md)."""
    weights = network.check_weights(weights)
    return {
        "format": FORMAT_NAME,
        "version": SINGLE_VERSION,
        "spec": network.to_text(),
        "weights": [int(v) for v in weights.w],
        "biases": [int(v) for v in weights.b],
        "links": network.n_links(weights),
        "metadata": _jsonable(metadata or {}),
    }


def ensemble_to_dict(model: EnsembleModel) -> dict[str, Any]:
    """The JSON document of an ensemble (format version 2, docs/model-format.md)."""
    if model.kind not in ENSEMBLE_KINDS:
        raise ValueError(f"ensemble kind must be one of {ENSEMBLE_KINDS}, not {model.kind!r}")
    members = []
    for pair, weights in model.members:
        weights = model.network.check_weights(weights)
        members.append(
            {
                "classes": _jsonable(list(pair)),
                "weights": [int(v) for v in weights.w],
                "biases": [int(v) for v in weights.b],
                "links": model.network.n_links(weights),
            }
        )
    return {
        "format": FORMAT_NAME,
        "version": ENSEMBLE_VERSION,
        "kind": model.kind,
        "spec": model.network.to_text(),
        "members": members,
        "metadata": _jsonable(model.metadata),
    }


class ModelExistsError(ModelFileError, FileExistsError):
    """``save_model(..., overwrite=False)`` found the file there (written since it was checked)."""


def save_model(
    path: str | Path,
    network: Network | TrainedModel | EnsembleModel,
    weights: Weights | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    overwrite: bool = True,
) -> Path:
    """Write a model file (a network and its weights, a :class:`TrainedModel` or an
    :class:`EnsembleModel`) atomically; returns the path.

    ``overwrite=False`` creates the file only if it does not exist, in the same atomic step
    (two runs that both checked ``--out`` never replace each other's model): an existing file
    raises :class:`ModelExistsError` and is left as it was."""
    ensemble = network if isinstance(network, EnsembleModel) else None
    if isinstance(network, TrainedModel):
        network, weights, metadata = network.network, network.weights, network.metadata
    if weights is None and ensemble is None:
        raise TypeError("save_model needs the weights (or a TrainedModel or EnsembleModel)")
    path = Path(path)
    try:
        if ensemble is not None:
            doc = ensemble_to_dict(ensemble)
        else:
            doc = model_to_dict(network, weights, metadata)
        # one top-level key per line; each value (e.g. the weight list) compact on its line
        items = (f" {json.dumps(k)}: {json.dumps(v, allow_nan=False)}" for k, v in doc.items())
        text = "{\n" + ",\n".join(items) + "\n}\n"
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: cannot save the model: {e}") from None
    folder = path.parent if str(path.parent) else Path(".")
    _remove_stale_temporaries(folder, path.name)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder
        )
    except OSError as e:
        raise ModelFileError(f"{path}: cannot write in folder '{folder}': {e.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600: follow the umask
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _create_exclusively(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, FileExistsError):
            raise ModelExistsError(
                f"{path}: the file exists now (written since this run checked it, e.g. by "
                "another run); it was left as it was"
            ) from None
        if isinstance(e, OSError):
            raise ModelFileError(f"{path}: cannot write the model file: {e.strerror}") from None
        raise
    return path


def _create_exclusively(tmp: str, path: Path) -> None:
    """Move ``tmp`` to ``path`` unless ``path`` exists (FileExistsError), in one step."""
    try:
        os.link(tmp, path)  # atomic, and fails where path exists
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: reserve the name, then replace it
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _remove_stale_temporaries(folder: Path, name: str) -> None:
    """Delete ``.NAME.PID.XXXX.tmp`` files of writers that no longer run (killed mid-save);
    a live writer's file (its process still runs) is left alone."""
    for tmp in folder.glob(f".{glob.escape(name)}.*.tmp"):
        pid = tmp.name[len(name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            try:
                tmp.unlink()
            except OSError:
                pass


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process (or unknowable): keep its file
    return True


def _umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but brief)
    os.umask(mask)
    return mask


class _LongInteger(str):
    """An integer literal too long to be any value of a model (kept as its text: Python refuses
    to convert integers of over 4300 digits, with a message that names no file or field)."""

    def __repr__(self) -> str:
        return f"a {len(self.lstrip('-'))}-digit number"


def _parse_int(text: str) -> int | _LongInteger:
    return int(text) if len(text) <= 4000 else _LongInteger(text)  # Python reads 4300


def _int_list(doc: dict[str, Any], key: str, where: str, length: int, allowed: str) -> np.ndarray:
    values = doc.get(key)
    if isinstance(values, list):
        for i, v in enumerate(values):
            if isinstance(v, _LongInteger):
                raise ModelFileError(f"{where}: {key}[{i}] is {v!r}; {key} must be {allowed}")
    if not isinstance(values, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    ):
        raise ModelFileError(f"{where}: '{key}' must be a list of integers ({allowed})")
    if len(values) != length:
        raise ModelFileError(
            f"{where}: '{key}' has {len(values)} entries but the network in 'spec' needs {length}"
        )
    for i, v in enumerate(values):  # before numpy, which overflows on huge integers
        if not -1 <= v <= 1:
            raise ModelFileError(f"{where}: {key}[{i}] is {_short(v)}; {key} must be {allowed}")
    return np.array(values, dtype=np.int64)


def model_from_dict(doc: Any, where: str = "<model>") -> TrainedModel | EnsembleModel:
    """Validate a parsed model document and build the :class:`TrainedModel`."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise ModelFileError(f'{where}: not a qubonn model file (no "format": "{FORMAT_NAME}")')
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{where}: 'version' must be a positive integer, not {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where}: model format version {version} is newer than this qubonn reads "
            f"(version {FORMAT_VERSION}); upgrade qubonn to load it"
        )
    network = _stored_network(doc, where)
    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{where}: 'metadata' must be a JSON object")
    kind = doc.get("kind", "single")
    if kind != "single":
        return _ensemble_from_dict(doc, network, metadata, kind, version, where)
    weights = _stored_weights(doc, network, where)
    if metadata.get("classes") is not None:
        check_classes(metadata["classes"], network.n_outputs, where)
    return TrainedModel(network, weights, metadata)


def _stored_network(doc: dict[str, Any], where: str) -> Network:
    spec = doc.get("spec")
    if not isinstance(spec, str):
        raise ModelFileError(f"{where}: 'spec' must be the network description as text")
    try:
        from qubonn.language import parse

        return parse(spec, filename=f"{where} (spec)")
    except SpecError as e:
        raise ModelFileError(f"{where}: the stored spec is invalid:\n{e}") from None


def _stored_weights(doc: dict[str, Any], network: Network, where: str) -> Weights:
    """The checked ``weights`` and ``biases`` of ``doc`` (a model, or one ensemble member:
    ``where`` then names the member)."""
    w = _int_list(doc, "weights", where, network.n_arcs, "-1, 0 or +1, one per arc")
    b = _int_list(doc, "biases", where, network.n_neurons, "-1/+1, or 0 without a bias")
    arc_t = network.ternary[network.arc_dst]
    bad = ~((np.abs(w) == 1) | (arc_t & (w == 0)))
    if bad.any():
        i = int(np.argmax(bad))
        need = "-1, 0 or +1 (a ternary group)" if arc_t[i] else "-1 or +1"
        raise ModelFileError(f"{where}: weights[{i}] is {w[i]}; it must be {need}")
    ok = np.where(network.has_bias, (np.abs(b) == 1) | (network.ternary & (b == 0)), b == 0)
    if not ok.all():
        i = int(np.argmax(~ok))
        need = (
            "0 (the neuron has no bias)" if not network.has_bias[i]
            else "-1, 0 or +1 (a ternary group)" if network.ternary[i] else "-1 or +1"
        )
        raise ModelFileError(
            f"{where}: biases[{i}] ({network.neuron_names[i]}) is {b[i]}; it must be {need}"
        )
    links = int(np.count_nonzero(w) + np.count_nonzero(b))
    if "links" in doc and doc["links"] != links:  # optional: files before it lack it
        raise ModelFileError(
            f"{where}: 'links' is {_short(doc['links'])}, but the weights and biases keep "
            f"{links} nonzero links; the file is damaged"
        )
    return Weights(w=w.astype(np.int8), b=b.astype(np.int8))

def _ensemble_from_dict(
    doc: dict[str, Any], network: Network, metadata: dict, kind: Any, version: int, where: str
) -> EnsembleModel:
    """Check an ensemble document: its kind, a one-output network, members over pairs of the
    classes in ``metadata.classes``, each with valid weights."""
    if kind not in ENSEMBLE_KINDS:
        raise ModelFileError(
            f"{where}: 'kind' is {_short(kind)}; it must be 'single' or one of "
            f"{', '.join(map(repr, ENSEMBLE_KINDS))}"
        )
    if version < ENSEMBLE_VERSION:
        raise ModelFileError(
            f"{where}: an ensemble ('kind': {kind!r}) needs format version {ENSEMBLE_VERSION}, "
            f"not {version}"
        )
    if network.n_outputs != 1:
        raise ModelFileError(
            f"{where}: a one-vs-one ensemble's network has one output, not {network.n_outputs}"
        )
    classes = metadata.get("classes")
    if not isinstance(classes, list) or len(classes) < 2:
        raise ModelFileError(
            f"{where}: 'metadata.classes' must list the ensemble's classes (at least two)"
        )
    check_classes(classes, len(classes), where)
    members_doc = doc.get("members")
    if not isinstance(members_doc, list) or not members_doc:
        raise ModelFileError(f"{where}: 'members' must be a non-empty list of networks")
    members = []
    for i, member in enumerate(members_doc):
        at = f"{where}: members[{i}]"
        if not isinstance(member, dict):
            raise ModelFileError(f"{at} must be a JSON object")
        pair = member.get("classes")
        if not isinstance(pair, list) or len(pair) != 2 or any(c not in classes for c in pair):
            raise ModelFileError(
                f"{at}: 'classes' must be two of the model's classes {classes}, not "
                f"{_short(pair)}"
            )
        members.append(((pair[0], pair[1]), _stored_weights(member, network, at)))
    return EnsembleModel(network, tuple(members), metadata, kind)


def load_model(path: str | Path) -> TrainedModel | EnsembleModel:
    """Read and validate a model file.  A single network unpacks as ``network, weights,
    metadata``; an ensemble is an :class:`EnsembleModel`.  Both ``predict``."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelFileError(f"{where}: no such model file") from None
    except UnicodeDecodeError:
        raise ModelFileError(f"{where}: not a qubonn model file (not UTF-8 text)") from None
    except OSError as e:
        raise ModelFileError(f"{where}: cannot read the model file: {e.strerror}") from None
    try:
        doc = json.loads(text, parse_int=_parse_int)
    except RecursionError:
        raise ModelFileError(
            f"{where}: not a qubonn model file (its JSON is nested too deeply to read)"
        ) from None
    except json.JSONDecodeError as e:
        raise ModelFileError(
            f"{where}:{e.lineno}:{e.colno}: not valid JSON ({e.msg}); the file is damaged or "
            "not a qubonn model"
        ) from None
    return model_from_dict(doc, where)
