"""mkdocs hooks: expand nav entries that name a folder into the pages of that folder.

``- Tutorials: tutorials/`` in ``mkdocs.yml`` becomes the list of every
Markdown page under ``docs/tutorials/`` (``index.md`` first, then by file
name, titled by each page's first ``# `` heading).  Later chapters (the
neural-network pages under ``docs/nn/``, new tutorials) join the site by
being added to their folder; a folder with no page drops out of the nav.
"""

from __future__ import annotations

from pathlib import Path


def _title(page: Path) -> str:
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return page.stem.replace("_", " ").replace("-", " ").capitalize()


def _expand_folder(docs_dir: Path, folder: str) -> list:
    root = docs_dir / folder
    if not root.is_dir():
        return []
    pages = sorted(root.glob("*.md"), key=lambda p: (p.name != "index.md", p.name))
    out: list = []
    for page in pages:
        rel = page.relative_to(docs_dir).as_posix()
        out.append(rel if page.name == "index.md" else {_title(page): rel})
    return out


def _expand(nav, docs_dir: Path):
    out = []
    for item in nav:
        if isinstance(item, dict):
            ((title, value),) = item.items()
            if isinstance(value, str) and value.endswith("/") and "://" not in value:
                pages = _expand_folder(docs_dir, value)
                if pages:
                    out.append({title: pages})
            elif isinstance(value, list):
                out.append({title: _expand(value, docs_dir)})
            else:
                out.append(item)
        else:
            out.append(item)
    return out


def on_config(config, **kwargs):
    """Expand folder entries of the nav (see the module docstring)."""
    if config.get("nav"):
        config["nav"] = _expand(config["nav"], Path(config["docs_dir"]))
    return config
