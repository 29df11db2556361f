"""Every stage by name, for the `facegan <stage>` command. Pipeline scripts import their own
stage's module instead: this one reaches every stage's code."""

from __future__ import annotations

from facegan.stages import (evaluate, prep, render, render_oracle, synthesize, train_editor, train_judges,
                            train_recognizer, train_recognizer_aug, train_translator, validate)

# In pipeline order; a stage's name is its module's (and its pipeline script's and dvc.yaml's).
STAGES = {module.__name__.rpartition(".")[2]: module
          for module in (validate, render, prep, render_oracle, train_recognizer, train_judges, train_editor,
                         train_translator, synthesize, train_recognizer_aug, evaluate)}
