"""Every tutorial runs (its assertions check its key results) and has an up-to-date rendered page."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tutorials import render  # noqa: E402

TUTORIALS = render.tutorial_files()
NUMBERED = [p for p in TUTORIALS if p.name[:2].isdigit()]


def test_the_seven_scheme_tutorials_exist():
    stems = [p.stem for p in NUMBERED]
    assert [s[:2] for s in stems] == [f"{i:02d}" for i in range(1, len(stems) + 1)], f"numbering has gaps: {stems}"
    assert len(stems) >= 7, f"expected tutorials 01..07, found {stems}"


@pytest.mark.parametrize("path", NUMBERED, ids=[p.stem for p in NUMBERED])
def test_tutorial_runs_as_a_script(path, python):
    result = python("-c", f"import runpy; runpy.run_path({str(path)!r}, run_name='__main__')", timeout=600)
    assert result.returncode == 0, f"{path.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_is_a_notebook(path):
    import jupytext

    notebook = jupytext.read(path)
    kinds = {cell.cell_type for cell in notebook.cells}
    assert {"markdown", "code"} <= kinds, f"{path.name} should have both text and code cells"
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# "), (
        f"{path.name} should open with a markdown cell holding its title"
    )


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_rendered_page_is_up_to_date(path):
    page = REPO / "docs" / "tutorials" / f"{path.stem}.md"
    assert page.exists(), f"{page} is missing: run `python tutorials/render.py {path.stem}`"
    text = page.read_text(encoding="utf-8")
    for source in render.code_cells(path):
        assert source.strip() in text, (
            f"{page.name} shows older code than {path.name}: run `python tutorials/render.py {path.stem}`\n"
            f"missing cell:\n{source[:400]}"
        )
    for image in (REPO / "docs" / "tutorials").glob(f"{path.stem}_files/*.png"):
        assert f"{path.stem}_files/{image.name}" in text, f"{image} is not used by {page.name}: re-render"


def test_renderer_executes_cells_and_saves_figures(tmp_path):
    script = tmp_path / "99_example.py"
    script.write_text(
        "# %% [markdown]\n# # Example\n# Some $x^2$ math.\n\n"
        "# %%\nimport matplotlib.pyplot as plt\nprint('hello', 6 * 7)\nplt.plot([1, 2], [3, 4])\n\n"
        "# %% [markdown]\n# The end.\n",
        encoding="utf-8",
    )
    page = render.render(script, tmp_path / "out")
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Example")
    assert "hello 42" in text and "```python" in text
    assert (tmp_path / "out" / "99_example_files" / "figure_1.png").stat().st_size > 1000
    assert "](99_example_files/figure_1.png)" in text


def test_renderer_refuses_a_failing_tutorial(tmp_path):
    script = tmp_path / "98_broken.py"
    script.write_text("# %% [markdown]\n# # Broken\n\n# %%\nassert 1 == 2, 'a key result is wrong'\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="cell"):
        render.render(script, tmp_path / "out")
    assert not (tmp_path / "out" / "98_broken.md").exists()
