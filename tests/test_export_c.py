"""The exported C is bit-exact with ``model.predict``: compiled with the strict flags and run on
examples (trained) and on hypothesis-drawn networks and inputs.  Skipped only without a C
compiler; the plan itself (what the C runs) is checked with numpy everywhere."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import random_networks
from exported_models import (
    DOMAIN_SPECS,
    EXAMPLE_SPECS,
    sparse_weights,
    train_domain_example,
    train_examples,
    widened_networks,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import domain_data, domain_networks

from qubonn.errors import ExportError
from qubonn.export.c import C_KEYWORDS, check_c_name, export_c, generate_c
from qubonn.export.plan import build_plan
from qubonn.export.toolchain import compile_c, find_c_compiler
from qubonn.language import parse
from qubonn.modelfile import TrainedModel
from qubonn.network import NetworkBuilder, Source, Weights

CC = find_c_compiler()
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler (cc, gcc, clang or $CC)")
STYLES = ("tables", "code")


def harness(name: str) -> str:
    """A main() that reads N rows of int8 inputs, then N rows of packed bytes, from stdin and
    prints ``predict packed`` per row."""
    return f"""\
#include <stdio.h>
#include <stdlib.h>
#include "{name}.h"

int main(int argc, char **argv)
{{
    long n = argc > 1 ? atol(argv[1]) : 0, r;
    static int8_t x[{name}_N_INPUTS];
    static uint8_t b[{name}_N_INPUT_BYTES];
    (void)argc;
    for (r = 0; r < n; r++) {{
        if (fread(x, 1, sizeof x, stdin) != sizeof x) return 3;
        printf("%d ", {name}_predict(x));
    }}
    printf("\\n");
    for (r = 0; r < n; r++) {{
        if (fread(b, 1, sizeof b, stdin) != sizeof b) return 4;
        printf("%d ", {name}_predict_packed(b));
    }}
    printf("\\n");
    return 0;
}}
"""


def build(model, folder: Path, *, name="qubonn_model", style="tables", word_bits=32, flags=()):
    """Export, compile with the strict flags, return the executable."""
    folder.mkdir(parents=True, exist_ok=True)
    export_c(model, folder, name, style=style, word_bits=word_bits, overwrite=True)
    (folder / "main.c").write_text(harness(name))
    exe = folder / "main"
    compile_c([folder / "main.c", folder / f"{name}.c"], exe, flags=("-O1", *flags))
    return exe


def run(exe: Path, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predict, predict_packed) of every row of +-1 X."""
    X = np.asarray(X, dtype=np.int8)
    packed = np.packbits(X > 0, axis=1, bitorder="little")
    done = subprocess.run(
        [str(exe), str(len(X))],
        input=X.tobytes() + packed.tobytes(),
        capture_output=True,
        check=True,
    )
    rows = done.stdout.decode().split("\n")
    return tuple(np.array(r.split(), dtype=np.int64) for r in rows[:2])


def scores_harness(name: str, integer: bool) -> str:
    """A main() that reads N rows of inputs (int16_t for integer networks, else int8_t) and
    prints ``class z_0 .. z_{outputs-1}`` per row from NAME_predict_scores."""
    in_t = "int16_t" if integer else "int8_t"
    return f"""\
#include <stdio.h>
#include <stdlib.h>
#include "{name}.h"

int main(int argc, char **argv)
{{
    long n = argc > 1 ? atol(argv[1]) : 0, r;
    static {in_t} x[{name}_N_INPUTS];
    int32_t z[{name}_N_OUTPUTS];
    int k;
    for (r = 0; r < n; r++) {{
        if (fread(x, sizeof x[0], {name}_N_INPUTS, stdin) != {name}_N_INPUTS) return 3;
        printf("%d", {name}_predict_scores(x, z));
        for (k = 0; k < {name}_N_OUTPUTS; k++) printf(" %ld", (long)z[k]);
        printf("\\n");
    }}
    return 0;
}}
"""


def build_scores(model, folder: Path, *, style="tables", word_bits=32, flags=()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    export_c(model, folder, style=style, word_bits=word_bits, overwrite=True)
    (folder / "main.c").write_text(scores_harness("qubonn_model", model.network.has_integer_inputs))
    exe = folder / "main"
    compile_c([folder / "main.c", folder / "qubonn_model.c"], exe, flags=("-O1", *flags))
    return exe


def run_scores(exe: Path, X: np.ndarray, integer: bool) -> tuple[np.ndarray, np.ndarray]:
    """(NAME_predict_scores's class, the outputs' pre-activations) per row of X."""
    data = np.asarray(X).astype("<i2" if integer else np.int8).tobytes()
    done = subprocess.run([str(exe), str(len(X))], input=data, capture_output=True, check=True)
    rows = np.array([r.split() for r in done.stdout.decode().splitlines()], dtype=np.int64)
    return rows[:, 0], rows[:, 1:]


def check_scores(model, X, folder: Path, **kwargs) -> None:
    """The compiled C gives the forward pass's classes and output pre-activations."""
    exe = build_scores(model, folder, **kwargs)
    cls, z = run_scores(exe, X, model.network.has_integer_inputs)
    _, want_z = model.network.predict_outputs(X, model.weights)
    assert np.array_equal(z, want_z), kwargs
    assert np.array_equal(cls, model.network.predict_classes(X, model.weights)), kwargs


def model_of(net, weights, classes=None) -> TrainedModel:
    n = 2 if net.n_outputs == 1 else net.n_outputs
    return TrainedModel(net, weights, {"classes": list(classes or range(10, 10 + n))})


def expected(model, X) -> np.ndarray:
    """Class indices from model.predict (labels mapped back to their positions)."""
    labels = list(model.metadata["classes"])
    return np.array([labels.index(c) for c in model.predict(X)], dtype=np.int64)


def inputs(n_inputs: int, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice(np.array([-1, 1], np.int8), (n, n_inputs))


# -- the plan, without a compiler -----------------------------------------------------------


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(), st.integers(0, 2**32 - 1), st.sampled_from([32, 64]))
def test_plan_replays_the_forward_pass(net, seed, word_bits):
    model = model_of(net, net.random_weights(seed))
    X = inputs(net.n_inputs, 64, seed)
    assert np.array_equal(build_plan(model, word_bits).predict(X), expected(model, X))


# -- the compiled C ------------------------------------------------------------------------


@needs_cc
@pytest.mark.parametrize("style", STYLES)
def test_random_networks_compile_and_match(style, tmp_path):
    """Hypothesis-drawn networks and inputs; one compile per example."""
    count = []

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(random_networks(), st.integers(0, 2**32 - 1), st.sampled_from([32, 64]))
    def check(net, seed, word_bits):
        model = model_of(net, net.random_weights(seed))
        exe = build(model, tmp_path / f"n{len(count)}", style=style, word_bits=word_bits)
        count.append(1)
        X = inputs(net.n_inputs, 200, seed)
        want = expected(model, X)
        got, got_packed = run(exe, X)
        assert np.array_equal(got, want)
        assert np.array_equal(got_packed, want)

    check()


# -- the shipped examples, trained ------------------------------------------------------------

EXAMPLES = sorted(EXAMPLE_SPECS)


@pytest.fixture(scope="module")
def trained_examples():
    return train_examples()


def test_examples_exist():
    assert {"digits", "digits10", "digits10_local", "local", "multiclass", "skip"} <= set(
        EXAMPLES
    )


@needs_cc
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("stem", EXAMPLES)
def test_trained_examples_on_every_image(stem, style, trained_examples, tmp_path):
    model, X = trained_examples[stem]
    want = expected(model, X)
    for word_bits in (32, 64):
        if model.network.has_integer_inputs:  # the int16_t API: scores, no packed form
            check_scores(model, X, tmp_path / str(word_bits), style=style, word_bits=word_bits)
            continue
        exe = build(model, tmp_path / str(word_bits), style=style, word_bits=word_bits)
        got, got_packed = run(exe, X)
        assert np.array_equal(got, want), (stem, style, word_bits)
        assert np.array_equal(got_packed, want), (stem, style, word_bits)


def test_trained_examples_plan(trained_examples):
    for model, X in trained_examples.values():
        assert np.array_equal(build_plan(model).predict(X), expected(model, X))


# -- word boundaries, ties, inputs ------------------------------------------------------------


def boundary_networks():
    """Fan-ins and group sizes around 32 and 64 bits, slices and windows across words."""
    nets = []
    for width in (31, 32, 33, 63, 64, 65, 130):
        b = NetworkBuilder().input("x", width).hidden("h", 33, "x", bias=width % 2 == 0)
        nets.append(b.output("y", 3, "h", Source("x", slice=(1, width))).build())
    nets.append(
        parse(
            "input p[9x40]\n"
            "input q[5]\n"
            "hidden l[3x13] <- p window 3x4 stride 3x3\n"
            "hidden m[65] <- l, q nobias\n"
            "output y[2x3] <- m[1:64], p[30:100], l window 2x5 stride 1x4\n"
        )
    )
    return nets


@needs_cc
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("word_bits", [32, 64])
def test_word_boundaries(style, word_bits, tmp_path):
    for i, net in enumerate(boundary_networks()):
        model = model_of(net, net.random_weights(i))
        X = inputs(net.n_inputs, 300, i)
        exe = build(model, tmp_path / str(i), style=style, word_bits=word_bits)
        got, got_packed = run(exe, X)
        assert np.array_equal(got, expected(model, X)), net
        assert np.array_equal(got_packed, got)


def tie_model():
    """Three outputs over two inputs, no biases: outputs 0 and 2 share their weights, so they
    tie on every input, and all three tie at z = 0 on half of the inputs."""
    net = parse("input x[2]\noutput y[3] <- x nobias\n")
    w = Weights(np.array([1, -1, 1, 1, 1, -1], np.int8), np.zeros(3, np.int8))
    return model_of(net, w)


def test_tie_rules_in_the_plan():
    model = tie_model()
    X = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
    _, z = model.network.predict_outputs(X, model.weights)
    assert z.tolist() == [[0, 2, 0], [2, 0, 2], [-2, 0, -2], [0, -2, 0]]
    assert expected(model, X).tolist() == [1, 0, 1, 0]  # the lowest index among equal maxima
    assert build_plan(model).predict(X).tolist() == [1, 0, 1, 0]


@needs_cc
@pytest.mark.parametrize("style", STYLES)
def test_tie_rules_in_c(style, tmp_path):
    model = tie_model()
    X = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]])
    got, got_packed = run(build(model, tmp_path, style=style), X)
    assert got.tolist() == got_packed.tolist() == [1, 0, 1, 0]
    # sign(0) = +1 for one output with an even fan-in: z = 0 predicts class 1
    net = parse("input x[2]\noutput y[1] <- x nobias\n")
    one = model_of(net, Weights(np.array([1, 1], np.int8), np.zeros(1, np.int8)))
    got, _ = run(build(one, tmp_path / "one", style=style), X)
    assert got.tolist() == expected(one, X).tolist() == [1, 1, 1, 0]


@needs_cc
def test_bad_inputs_return_minus_one_and_padding_bits_are_ignored(tmp_path):
    net = parse("input x[11]\nhidden h[3] <- x\noutput y[2] <- h\n")
    model = model_of(net, net.random_weights(3))
    exe = build(model, tmp_path)
    X = inputs(11, 40, 3)
    want = expected(model, X)
    bad = X.copy()
    bad[::2, 5] = 0
    bad[1::4, 10] = 2
    got, _ = run(exe, bad)
    assert got[::2].tolist() == [-1] * 20 and got[1::4].tolist() == [-1] * 10
    assert np.array_equal(got[3::4], want[3::4])
    packed = np.packbits(X > 0, axis=1, bitorder="little")
    packed[:, 1] |= 0xF8  # bits 11..15: past the last input
    done = subprocess.run(
        [str(exe), str(len(X))],
        input=X.astype(np.int8).tobytes() + packed.tobytes(),
        capture_output=True,
        check=True,
    )
    assert done.stdout.decode().split("\n")[1].split() == [str(c) for c in want]


# -- compilers and targets --------------------------------------------------------------------


def _flags_work(flags: list[str], tmp_path: Path) -> bool:
    src = tmp_path / "probe.c"
    src.write_text("int main(void) { return 0; }\n")
    try:
        compile_c([src], tmp_path / "probe", flags=flags)
        return subprocess.run([str(tmp_path / "probe")]).returncode == 0
    except (ExportError, OSError):
        return False


@needs_cc
@pytest.mark.parametrize(
    "flags", [["-O0"], ["-Os"], ["-O3", "-mpopcnt"], ["-O2", "-m32"], ["-O2", "-m32", "-mpopcnt"]]
)
def test_other_flags_and_32_bit_code(flags, tmp_path):
    """Optimisation levels, the popcount builtin (-mpopcnt, x86) and a 32-bit build (-m32,
    where the multilib is installed), on the trickiest networks."""
    if not _flags_work(flags, tmp_path):
        pytest.skip(f"{' '.join(flags)} does not build and run here")
    nets = [boundary_networks()[-1], tie_model().network]
    for i, net in enumerate(nets):
        model = model_of(net, net.random_weights(i))
        X = inputs(net.n_inputs, 200, i)
        for style in STYLES:
            exe = build(model, tmp_path / f"{i}{style}", style=style, flags=flags)
            got, got_packed = run(exe, X)
            assert np.array_equal(got, expected(model, X)) and np.array_equal(got_packed, got)
    for stem in ("windows", "full_range"):  # integer inputs and ternary groups
        net = parse(DOMAIN_SPECS[stem])
        for style in STYLES:
            check_scores(model_of(net, sparse_weights(net, 3)), domain_data(net, 100, 3),
                         tmp_path / f"{stem}{style}", style=style, flags=flags)


@needs_cc
def test_no_library_calls_on_the_host(tmp_path):
    """The object file needs nothing from a library: no undefined symbols."""
    if not shutil.which("nm"):
        pytest.skip("no nm")
    for net, style, word_bits in itertools.product(
        [boundary_networks()[-1], parse(DOMAIN_SPECS["windows"])], STYLES, (32, 64)
    ):
        export_c(model_of(net, net.random_weights(0)), tmp_path, style=style,
                 word_bits=word_bits, overwrite=True)
        for opt in ("-O2", "-O3", "-Os"):
            obj = compile_c([tmp_path / "qubonn_model.c"], tmp_path / "m.o", flags=(opt,),
                            object_only=True)
            undefined = subprocess.run(["nm", "-u", str(obj)], capture_output=True,
                                       text=True, check=True).stdout.split()
            assert undefined == [], (net, style, word_bits, opt, undefined)


ARM = shutil.which("arm-none-eabi-gcc")


@pytest.mark.skipif(ARM is None, reason="no arm-none-eabi-gcc (apt-get install gcc-arm-none-eabi)")
@pytest.mark.parametrize("cpu", ["cortex-m0", "cortex-m4"])
def test_cross_compiles_for_a_32_bit_microcontroller(cpu, trained_examples, tmp_path):
    """Strict flags, Thumb code, 32-bit words: it builds and calls no library function."""
    model, _ = trained_examples["digits10_local"]
    for style in STYLES:
        export_c(model, tmp_path, style=style, overwrite=True)
        for opt in ("-O2", "-Os"):
            obj = compile_c([tmp_path / "qubonn_model.c"], tmp_path / "m.o",
                            flags=(opt, f"-mcpu={cpu}", "-mthumb"), compiler=[ARM],
                            object_only=True)
            nm = subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True,
                                text=True, check=True)
            assert nm.stdout.split() == [], (style, opt, nm.stdout)


# -- names, labels, the header ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "9lives", "my-model", "a b", "int", "while", "_Bool",
                                  "_Model", "__x", "naïve", None])
def test_bad_names(name):
    net = tie_model().network
    with pytest.raises(ExportError, match="--name"):
        generate_c(model_of(net, net.random_weights(0)), name)


def test_keywords_are_refused():
    assert {"int", "static", "restrict", "_Bool", "bool", "typeof"} <= C_KEYWORDS
    assert check_c_name("digits_v2") == "digits_v2" and check_c_name("_model") == "_model"


@needs_cc
def test_two_models_link_into_one_program(tmp_path):
    """Every symbol carries the name: two models live side by side."""
    a = model_of(tie_model().network, tie_model().weights)
    net = parse("input x[2]\noutput y[1] <- x nobias\n")
    b = model_of(net, Weights(np.array([1, 1], np.int8), np.zeros(1, np.int8)))
    export_c(a, tmp_path, "first")
    export_c(b, tmp_path, "second", style="code")
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\n#include "first.h"\n#include "second.h"\n'
        "int main(void) { const int8_t x[2] = {1, 1};\n"
        '  printf("%d %d %d %d", first_predict(x), second_predict(x), first_N_CLASSES,'
        " second_N_CLASSES); return 0; }\n"
    )
    exe = compile_c([tmp_path / "main.c", tmp_path / "first.c", tmp_path / "second.c"],
                    tmp_path / "main")
    assert subprocess.run([str(exe)], capture_output=True, text=True).stdout == "1 1 3 2"


@needs_cc
def test_labels_survive_any_text(tmp_path):
    labels = ['say "hi"', "back\\slash", "??=trigraph?", "naïve ✓", "tab\tnew\nline", "*/"]
    net = parse("input x[3]\noutput y[6] <- x\n")
    model = TrainedModel(net, net.random_weights(0), {"classes": labels})
    export_c(model, tmp_path)
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\n#include "qubonn_model.h"\nint main(void) { int i;\n'
        "  for (i = 0; i < qubonn_model_N_CLASSES; i++)\n"
        '    printf("%s%c", qubonn_model_class_labels[i], 0);\n  return 0; }\n'
    )
    exe = compile_c([tmp_path / "main.c", tmp_path / "qubonn_model.c"], tmp_path / "main")
    out = subprocess.run([str(exe)], capture_output=True, check=True).stdout
    assert out.split(b"\0")[:-1] == [s.encode() for s in labels]


def test_numeric_labels_and_models_without_classes():
    net = tie_model().network
    made = generate_c(TrainedModel(net, net.random_weights(0), {"classes": [3, 8.5, "x"]}))
    assert '"3",' in made.source and '"8.5",' in made.source
    made = generate_c(TrainedModel(net, net.random_weights(0), {}))
    assert "names no classes" in made.header and '"0",' in made.source


def test_header_states_sizes_and_memory():
    net = boundary_networks()[-1]
    made = generate_c(model_of(net, net.random_weights(0)), "m", word_bits=64)
    h = made.header
    assert f"#define m_N_INPUTS {net.n_inputs}\n" in h
    assert f"#define m_N_INPUT_BYTES {-(-net.n_inputs // 8)}\n" in h
    assert "#define m_N_CLASSES 6\n" in h
    assert f"Memory: {made.data_bytes} bytes of const data (flash)" in h
    assert f"RAM: {made.stack_bytes} bytes of stack" in h
    plan = build_plan(model_of(net, net.random_weights(0)), 64)
    assert made.stack_bytes == plan.state_words * 8
    assert "int m_predict(const int8_t *x);" in h
    assert "int m_predict_packed(const uint8_t *bits);" in h
    for line in net.to_text().strip().splitlines():
        assert line in h


def test_a_zero_in_a_binary_group_is_refused_naming_the_field():
    net = tie_model().network
    w = net.random_weights(0)
    w.w[4] = 0
    with pytest.raises(ExportError, match=r"weights\[4\] is 0; the arc into y\[2\] is in binary"):
        generate_c(TrainedModel(net, w, {}))


def test_compiler_lookup_and_its_absence(monkeypatch, tmp_path):
    """$CC may carry flags; with no compiler at all the helpers say so (and the C tests skip)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    assert find_c_compiler() is None
    with pytest.raises(ExportError, match="no C compiler found"):
        compile_c([tmp_path / "m.c"], tmp_path / "m")
    fake = tmp_path / "mycc"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CC", "mycc -m32")
    assert find_c_compiler() == ["mycc", "-m32"]
    with pytest.raises(ExportError, match="failed"):
        compile_c([tmp_path / "m.c"], tmp_path / "m")


# -- integer inputs and ternary groups ----------------------------------------------------------


#: (network, seed, word bits) of the wider domains: integer inputs and ternary groups
WIDER_CASES = (
    st.one_of(domain_networks(), widened_networks()),
    st.integers(0, 2**32 - 1),
    st.sampled_from([32, 64]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(*WIDER_CASES)
def test_plan_replays_the_forward_pass_of_the_wider_domains(net, seed, word_bits):
    model = model_of(net, sparse_weights(net, seed, zeros=seed % 3 / 2))
    X = domain_data(net, 64, seed)
    cls, z = build_plan(model, word_bits).run(X)
    _, want_z = net.predict_outputs(X, model.weights)
    assert np.array_equal(z, want_z)
    assert np.array_equal(cls, expected(model, X))


@needs_cc
@pytest.mark.parametrize("style", STYLES)
def test_wider_domains_compile_and_match(style, tmp_path):
    """Hypothesis-drawn networks with integer inputs and ternary groups (windows, slices,
    skips): the C's classes and output pre-activations are the forward pass's."""
    count = []

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(*WIDER_CASES)
    def check(net, seed, word_bits):
        model = model_of(net, sparse_weights(net, seed, zeros=seed % 3 / 2))
        count.append(1)
        check_scores(model, domain_data(net, 100, seed), tmp_path / f"n{len(count)}",
                     style=style, word_bits=word_bits)

    check()


@needs_cc
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("word_bits", [32, 64])
@pytest.mark.parametrize("stem", sorted(DOMAIN_SPECS))
def test_domain_specs(stem, style, word_bits, tmp_path):
    net = parse(DOMAIN_SPECS[stem])
    for zeros in (0.0, 0.5, 0.97):
        model = model_of(net, sparse_weights(net, 7, zeros))
        check_scores(model, domain_data(net, 150, 7), tmp_path / str(zeros), style=style,
                     word_bits=word_bits)


def test_only_the_links_that_remain_count():
    """Ternary zeros leave the tables: fewer mask bits, a smaller limit, fewer integer terms;
    the header states the links."""
    net = parse(DOMAIN_SPECS["mnist_like"])
    dense = model_of(net, sparse_weights(net, 1, zeros=0.0))
    sparse = model_of(net, sparse_weights(net, 1, zeros=0.9))
    for model in (dense, sparse):
        plan = build_plan(model)
        assert plan.links == net.n_links(model.weights)
        assert sum(g.links for g in plan.groups) + np.count_nonzero(model.weights.b) == plan.links
        made = generate_c(model)
        assert made.links == plan.links
        assert f"Links: {plan.links} of {net.n_arcs + net.n_biases} weights" in made.header
    assert generate_c(sparse).data_bytes < generate_c(dense).data_bytes / 3


def test_a_neuron_without_links_is_its_bias():
    """All weights 0: z is the bias alone (limit -1 for bias -1: never fires, in both styles)."""
    net = parse("input x[3]\nhidden h[2] <- x ternary\noutput y[2] <- h, x ternary\n")
    w = Weights(np.zeros(net.n_arcs, np.int8), np.array([-1, 0, 1, -1], np.int8))
    model = model_of(net, w)
    X = domain_data(net, 8, 0)
    assert np.array_equal(build_plan(model).run(X)[1], net.predict_outputs(X, w)[1])
    code = generate_c(model, style="code").source
    assert "/* h: 2 neuron(s) */\n    m = 0;\n    s[1] = (qubonn_model_word_t)(0);" in code


@needs_cc
def test_a_neuron_without_links_in_c(tmp_path):
    net = parse("input x[3] values 0..9\nhidden h[2] <- x ternary\noutput y[2] <- h, x ternary\n")
    w = Weights(np.zeros(net.n_arcs, np.int8), np.array([-1, 0, 1, -1], np.int8))
    for style in STYLES:
        check_scores(model_of(net, w), domain_data(net, 20, 0), tmp_path / style, style=style)


@needs_cc
def test_out_of_range_inputs_return_minus_one_and_name_the_first(tmp_path):
    net = parse("input g[2x3] values -4..9\ninput q[2]\nhidden h[3] <- g, q ternary\n"
                "output y[2] <- h\n")
    model = model_of(net, net.random_weights(0))
    folder = tmp_path
    export_c(model, folder)
    (folder / "main.c").write_text(
        '#include <stdio.h>\n#include "qubonn_model.h"\n'
        "int main(void) { int16_t x[qubonn_model_N_INPUTS];\n"
        "  while (fread(x, 2, qubonn_model_N_INPUTS, stdin) == qubonn_model_N_INPUTS)\n"
        '    printf("%d %ld\\n", qubonn_model_predict(x), (long)qubonn_model_first_bad_input(x));\n'
        "  return 0; }\n"
    )
    exe = compile_c([folder / "main.c", folder / "qubonn_model.c"], folder / "main")
    good = domain_data(net, 4, 1)
    rows = [good[0]]
    for col, value in [(0, -5), (5, 10), (3, -32768), (6, 0), (7, 2), (7, -1)]:
        bad = good[1].copy()
        bad[col] = value
        rows.append(bad)
    X = np.array(rows)
    out = subprocess.run([str(exe)], input=X.astype("<i2").tobytes(), capture_output=True,
                         check=True).stdout.decode().splitlines()
    got = [tuple(int(v) for v in line.split()) for line in out]
    assert got[0] == (expected(model, X[:1])[0], -1)
    assert got[1:] == [(-1, 0), (-1, 5), (-1, 3), (-1, 6), (-1, 7), (expected(model, X[6:])[0], -1)]


def test_pre_activations_beyond_32_bits_are_refused_naming_group_and_input():
    net = parse("input pixels[70000] values -32767..32767\nhidden h[2] <- pixels ternary\n"
                "output y[1] <- h\n")
    model = model_of(net, sparse_weights(net, 0, zeros=0.0))
    with pytest.raises(ExportError, match=r"group 'h'.*2293690001.*32-bit.*input 'pixels'"):
        generate_c(model)


def test_header_states_the_declared_values(tmp_path):
    net = parse(DOMAIN_SPECS["windows"])
    made = generate_c(model_of(net, net.random_weights(0)), "m")
    h = made.header
    assert "int m_predict(const int16_t *x);" in h
    assert "int m_predict_scores(const int16_t *x, int32_t *scores);" in h
    assert "int32_t m_first_bad_input(const int16_t *x);" in h
    assert "predict_packed" not in h and "N_INPUT_BYTES" not in h
    assert "x[0..359]: input p, integers 0..255" in h
    assert "x[360..364]: input q, -1 or +1" in h
    assert "#define m_p_MIN (0)\n#define m_p_MAX (255)\n" in h
    assert "#define m_q_FIRST 360\n#define m_q_SIZE 5\n#define m_N_CLASSES" in h
    assert "scale or clip your data" in h


def test_binary_groups_refuse_zero_weights_saying_what_to_do():
    net = parse("input x[3] values 0..3\nhidden h[2] <- x ternary\noutput y[1] <- h\n")
    w = net.random_weights(0)
    w.w[7] = 0
    with pytest.raises(ExportError, match=r"weights\[7\] is 0; .*binary group 'y'.*'ternary'"):
        generate_c(TrainedModel(net, w, {}))
    w.w[7] = 1
    w.b[2] = 0
    with pytest.raises(ExportError, match=r"biases\[2\] \(y\[0\]\) is 0.*binary group 'y'"):
        generate_c(TrainedModel(net, w, {}))


@needs_cc
@pytest.mark.parametrize("style", STYLES)
def test_a_trained_network_of_integer_pixels_and_ternary_groups(style, tmp_path):
    """Trained on raw digit pixels (0..16) with ternary windows: every 3 and 8 of the digits."""
    model, X = train_domain_example()
    assert len(X) > 300 and X.max() == 16
    for word_bits in (32, 64):
        check_scores(model, X, tmp_path / str(word_bits), style=style, word_bits=word_bits)
