"""Tutorials (runnable jupytext scripts) and classroom assignments; see docs/tutorials and docs/teachers.md."""
