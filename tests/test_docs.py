"""docs/design.md is the design reference the code and README cite: every cited section must exist."""

import re
from pathlib import Path

from tests.conftest import REPO

DESIGN = REPO / "docs" / "design.md"
CITING = ["README.md", *(str(p.relative_to(REPO)) for d in ("facegan", "tests", "bench", "pipeline")
                         for p in sorted((REPO / d).rglob("*.py")))]


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", markdown, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_cited_design_section_exists():
    text = DESIGN.read_text()
    anchors = _anchors(text)
    cited = {(path, anchor) for path in CITING
             for anchor in re.findall(r"docs/design\.md#([\w-]+)", (REPO / path).read_text())}
    cited |= {("docs/design.md", a) for a in re.findall(r"\]\(#([\w-]+)\)", text)}
    assert cited, "nothing cites docs/design.md"
    assert {(path, a) for path, a in cited if a not in anchors} == set()


def test_nothing_cites_the_design_notes_outside_the_repository():
    # Users have no ../shared: the old notes were cited as "DESIGN" plus a section sign.
    old = re.compile("DESIGN \u00a7|shared/DESIGN")
    here = str(Path(__file__).relative_to(REPO))  # this test spells the pattern out
    assert [p for p in CITING if p != here and old.search((REPO / p).read_text())] == []


def test_the_readme_says_which_stages_read_each_params_key():
    """The README's table of params keys and the stages that read them is dvc.yaml's, row for row.
    A row names a key, a pattern (`recognizer.torchscript*`) or a section (every key in it that no
    more specific row names)."""
    import fnmatch

    import yaml

    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    readers: dict[str, list[str]] = {}
    for name, stage in stages.items():
        for key in stage.get("params", []):
            readers.setdefault(key, []).append(name)
    every = [name for name in stages if name != "validate"]
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("| params.yaml key |"):].split("\n\n")[0]
    rows = re.findall(r"^\| `([\w.*]+)` \| (.+) \|$", section, re.M)
    table = {key: every if cell == "every stage but `validate`" else re.findall(r"`(\w+)`", cell)
             for key, cell in rows}

    def row_for(key: str) -> str | None:
        if key in table:
            return key
        patterns = [row for row in table if "*" in row and fnmatch.fnmatch(key, row)]
        if patterns:
            return max(patterns, key=len)
        return key.split(".")[0] if key.split(".")[0] in table else None

    expected: dict[str, list[str]] = {}
    for key, names in readers.items():
        row = row_for(key)
        assert row is not None, f"README's params table has no row for {key}"
        expected.setdefault(row, names)
        assert sorted(expected[row]) == sorted(names), f"{key}: dvc.yaml {names}, README row {row}: {table[row]}"
    assert {row: sorted(v) for row, v in table.items()} == {row: sorted(v) for row, v in expected.items()}


def test_the_readme_quotes_the_committed_summary():
    """The README's `facegan summary` block is the committed reports/summary.json, row for row."""
    import json

    from facegan.summary import WIDTH, summary_table

    readme = (REPO / "README.md").read_text()
    quoted = readme.split("<!-- summary:start -->\n```\n")[1].split("```\n<!-- summary:end -->")[0]
    table = summary_table(json.loads((REPO / "reports/summary.json").read_text()))
    assert quoted == table
    assert max(len(line) for line in table.splitlines()) < WIDTH
