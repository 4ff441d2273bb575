"""The notebooks in notebooks/ run top to bottom and show what they promise.

Each notebook is executed in a fresh ``python3`` kernel with ``SIMDEPLOY_NOTEBOOK_FAST=1``,
the switch at the top of every notebook that scales traffic down and runs one replication, so
the whole notebook takes seconds. The kernel inherits this process's environment, and
jupyter_client starts a ``python3`` kernel spec whose command is ``python`` with this
interpreter (``sys.executable``), so in a fresh venv the kernel is the venv's own ipykernel
and imports the simdeploy under test.

The notebooks are committed without outputs; that is checked too, without a kernel.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat",
                               reason="nbformat is not installed (pip install -e '.[test]')")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["01-tour.ipynb", "02-what-if.ipynb"]


def _execute(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run notebooks/<name> in fast mode; return the executed notebook."""
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed: no python3 kernel")
    monkeypatch.setenv("SIMDEPLOY_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")  # the notebooks set %matplotlib inline themselves
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))  # connection files
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile or startup files
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    return nb


def _outputs(nb) -> tuple[str, int]:
    """All text the code cells printed or returned, and the number of PNG images shown."""
    texts, images = [], 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{output.ename}: {output.evalue}"
            if output.output_type == "stream":
                texts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                images += "image/png" in output.data
                texts.append(output.data.get("text/plain", ""))
    return "\n".join(texts), images


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_clean(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "no code cells"
    for cell in code:
        assert cell.outputs == [], f"committed with outputs: {cell.source[:60]!r}"
        assert cell.execution_count is None
    assert "SIMDEPLOY_NOTEBOOK_FAST" in code[0].source  # the switch this test relies on


def test_tour_runs_and_shows_every_strategy(tmp_path, monkeypatch) -> None:
    nb = _execute("01-tour.ipynb", tmp_path, monkeypatch)
    text, images = _outputs(nb)
    assert "FAST mode" in text
    # a timeline per strategy, the rolling update with preStop, and the comparison
    assert images >= 6, f"only {images} figures shown"
    # the RollingUpdate cadence of the Kubernetes docs, reproduced on 3 replicas
    assert "Kubernetes docs: new→1, old→2, new→2, old→1, new→3, old→0" in text
    assert "same sequence" in text
    # the termination race, in numbers
    assert "Without preStop" in text
    assert "were refused" in text
    # the comparison table
    for strategy in ("recreate", "rolling", "blue-green", "canary"):
        assert strategy in text


def test_what_if_answers_its_three_questions(tmp_path, monkeypatch) -> None:
    nb = _execute("02-what-if.ipynb", tmp_path, monkeypatch)
    text, images = _outputs(nb)
    assert "FAST mode" in text
    assert images >= 4, f"only {images} figures shown"  # preStop, maxSurge, trade-off, bug sweep
    for question in ("Q1 preStop", "Q2 maxSurge", "Q3 blue-green"):
        assert f"Answer ({question}):" in text, f"no computed answer to {question}"
    # the summary cell repeats the three answers at the end
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    summary = "".join(o.get("text", "") for o in last.outputs)
    assert all(q in summary for q in ("Q1 preStop:", "Q2 maxSurge:", "Q3 blue-green:"))
