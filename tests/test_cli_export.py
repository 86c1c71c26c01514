"""qubonn export: the command, its output rules (--out, --force) and its errors."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

from qubonn.cli import main
from qubonn.export.toolchain import compile_c, find_c_compiler
from qubonn.language import parse
from qubonn.modelfile import save_model

SPEC = "input x[4x4]\nhidden h[3] <- x\noutput y[1] <- h, x nobias\n"


@pytest.fixture
def model_file(tmp_path):
    net = parse(SPEC)
    return save_model(tmp_path / "m.json", net, net.random_weights(0), {"classes": [3, 8]})


def test_c_export_writes_both_files_and_says_what_it_needs(model_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", str(model_file), "--format", "c", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["qubonn_model.c", "qubonn_model.h"]
    assert "16 inputs, 2 classes" in printed and "bytes of stack" in printed
    header = (out / "qubonn_model.h").read_text()
    assert "exported by qubonn" in header and "from m.json" in header


@pytest.mark.skipif(find_c_compiler() is None, reason="no C compiler")
def test_exported_c_predicts_like_qubonn_predict(model_file, tmp_path, capsys):
    out = tmp_path / "c"
    argv = ["export", str(model_file), "--out", str(out), "--name", "net", "--style", "code"]
    assert main([*argv, "--word-bits", "64"]) == 0
    X = np.random.default_rng(1).choice(np.array([-1, 1], np.int8), (64, 16))
    (out / "main.c").write_text(
        '#include <stdio.h>\n#include "net.h"\nint main(void) { int8_t x[net_N_INPUTS];\n'
        "  while (fread(x, 1, sizeof x, stdin) == sizeof x)\n"
        '    printf("%s\\n", net_class_labels[net_predict(x)]);\n  return 0; }\n'
    )
    exe = compile_c([out / "main.c", out / "net.c"], out / "main")
    done = subprocess.run([str(exe)], input=X.tobytes(), capture_output=True, check=True)
    from qubonn import load_model

    assert done.stdout.decode().split() == [str(c) for c in load_model(model_file).predict(X)]


def test_existing_files_need_force(model_file, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "qubonn_model.h").write_text("keep me\n")
    assert main(["export", str(model_file), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qubonn export: error: --out ")
    assert "qubonn_model.h exists; pass --force" in err
    assert (out / "qubonn_model.h").read_text() == "keep me\n"
    assert not (out / "qubonn_model.c").exists()  # nothing half-written
    assert main(["export", str(model_file), "--out", str(out), "--force"]) == 0
    assert "keep me" not in (out / "qubonn_model.h").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--name", "int"], "--name 'int' is a C keyword"),
        (["--name", "my-model"], "--name 'my-model' is not a C identifier"),
        (["--name", "__x"], "reserves"),
        (["--out", "{model}"], "is a file; give a folder"),
        (["--out", "{tmp}/no/such"], "the folder '{tmp}/no' does not exist"),
    ],
)
def test_bad_arguments(model_file, tmp_path, capsys, args, message):
    args = [a.format(model=model_file, tmp=tmp_path) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    assert main(["export", str(model_file), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qubonn export: error: ")
    assert message.format(tmp=tmp_path) in err
    assert "Traceback" not in err


def test_output_may_not_be_the_model_file(tmp_path, capsys):
    net = parse(SPEC)
    model = save_model(tmp_path / "qubonn_model.onnx", net, net.random_weights(0), {})
    before = model.read_bytes()
    assert main(["export", str(model), "--format", "onnx", "--out", str(tmp_path), "--force"]) == 2
    assert "is the model file" in capsys.readouterr().err
    assert model.read_bytes() == before


def test_unwritable_out(model_file, tmp_path, capsys, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK else real(p, mode))
    assert main(["export", str(model_file), "--out", str(tmp_path / "new")]) == 2
    assert "is not writable" in capsys.readouterr().err
    assert main(["export", str(model_file), "--out", str(tmp_path)]) == 2
    assert "is not writable" in capsys.readouterr().err


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["weights"].__setitem__(3, 2), "weights[3] is 2"),
        (lambda d: d["biases"].__setitem__(0, 5), "biases[0]"),
        (lambda d: d.__setitem__("spec", "input x[4]\noutput y[1] <- z\n"), "'z' is not defined"),
        (lambda d: d.pop("weights"), "'weights' must be a list"),
    ],
)
def test_a_model_that_does_not_validate(model_file, tmp_path, capsys, edit, message):
    doc = json.loads(model_file.read_text())
    edit(doc)
    model_file.write_text(json.dumps(doc))
    assert main(["export", str(model_file), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{model_file}" in err and message in err
    assert not (tmp_path / "out").exists()


def test_missing_model_file(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope.json"), "--out", str(tmp_path)]) == 2
    assert "nope.json: no such model file" in capsys.readouterr().err


def test_onnx_export(model_file, tmp_path, capsys):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "o"
    assert main(["export", str(model_file), "--format", "onnx", "--out", str(out)]) == 0
    assert "opset 13" in capsys.readouterr().out
    session = ort.InferenceSession(str(out / "qubonn_model.onnx"))
    X = np.random.default_rng(2).choice(np.array([-1, 1], np.int8), (50, 16))
    from qubonn import load_model

    model = load_model(model_file)
    index = session.run(["class_index"], {"x": X.astype(np.float32)})[0]
    assert np.array(model.metadata["classes"])[index].tolist() == model.predict(X).tolist()


def test_help_says_what_each_format_needs(capsys):
    assert main(["export", "--help"]) == 0
    text = capsys.readouterr().out
    assert "C99 compiler" in text and 'pip install -e ".[onnx]"' in text
    assert "--force" in text and "--style" in text and "--word-bits" in text


DOMAIN_SPEC = (
    "input gray[4x4] values 0..15\ninput flag[2]\n"
    "hidden h[2x2] <- gray window 2x2 stride 2x2 ternary\n"
    "output y[3] <- h, flag ternary\n"
)


@pytest.fixture
def domain_model_file(tmp_path):
    net = parse(DOMAIN_SPEC)
    return save_model(tmp_path / "d.json", net, net.random_weights(4), {"classes": ["a", "b", "c"]})


@pytest.mark.skipif(find_c_compiler() is None, reason="no C compiler")
def test_integer_inputs_and_ternary_groups_in_c(domain_model_file, tmp_path, capsys):
    from qubonn import load_model

    model = load_model(domain_model_file)
    out = tmp_path / "c"
    assert main(["export", str(domain_model_file), "--out", str(out), "--name", "net"]) == 0
    printed = capsys.readouterr().out
    assert f"18 integer inputs, 3 classes; {model.network.n_links(model.weights)} links" in printed
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.integers(0, 16, (64, 16)), rng.choice([-1, 1], (64, 2))], axis=1)
    (out / "main.c").write_text(
        '#include <stdio.h>\n#include "net.h"\nint main(void) { int16_t x[net_N_INPUTS];\n'
        "  while (fread(x, 2, net_N_INPUTS, stdin) == net_N_INPUTS)\n"
        '    printf("%s\\n", net_class_labels[net_predict(x)]);\n  return 0; }\n'
    )
    exe = compile_c([out / "main.c", out / "net.c"], out / "main")
    done = subprocess.run([str(exe)], input=X.astype("<i2").tobytes(), capture_output=True,
                          check=True)
    assert done.stdout.decode().split() == list(model.predict(X))


def test_integer_inputs_and_ternary_groups_in_onnx(domain_model_file, tmp_path, capsys):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from qubonn import load_model

    out = tmp_path / "o"
    assert main(["export", str(domain_model_file), "--format", "onnx", "--out", str(out)]) == 0
    model = load_model(domain_model_file)
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.integers(0, 16, (64, 16)), rng.choice([-1, 1], (64, 2))], axis=1)
    session = ort.InferenceSession(str(out / "qubonn_model.onnx"))
    index = session.run(["class_index"], {"x": X.astype(np.float32)})[0]
    assert np.array(model.metadata["classes"])[index].tolist() == list(model.predict(X))


def test_a_network_the_c_cannot_hold_is_refused(tmp_path, capsys):
    net = parse("input wide[70000] values -32767..32767\noutput y[1] <- wide\n")
    path = save_model(tmp_path / "w.json", net, net.random_weights(0), {})
    assert main(["export", str(path), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "group 'y'" in err and "32-bit" in err and "input 'wide'" in err
    assert not (tmp_path / "c").exists()
