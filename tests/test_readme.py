"""The README's settings table is generated from the settings module and must stay in step."""

from pathlib import Path

from adapters.settings import settings_markdown

README = Path(__file__).resolve().parent.parent / "README.md"
START = "<!-- settings-table: generated from adapters.settings.SETTINGS_DOC; a test keeps it in step -->"
END = "<!-- end settings-table -->"


def settings_table() -> str:
    return settings_markdown().strip()


def test_readme_lists_every_setting() -> None:
    text = README.read_text()
    table = text[text.index(START) + len(START) : text.index(END)].strip()
    assert table == settings_table(), "README settings table is stale; paste tests.test_readme.settings_table()"


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (README.parent / ".ci" / "run").read_text()
    command = "python3 -m pip install --quiet uv && python3 -m uv run --frozen pytest"
    assert command in README.read_text()
    assert command in ci
