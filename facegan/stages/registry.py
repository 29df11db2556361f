"""Every stage by name, for the `facegan <stage>` command. Pipeline scripts import their own
stage's module instead: this one reaches every stage's code."""

from __future__ import annotations

from facegan.stages import (evaluate, prep, render, render_oracle, synthesize, train_editor, train_judges,
                            train_recognizer, train_recognizer_aug, train_translator, validate)

STAGES = {"validate": validate.run, "render": render.run, "prep": prep.run, "render_oracle": render_oracle.run,
          "train_recognizer": train_recognizer.run, "train_judges": train_judges.run,
          "train_editor": train_editor.run, "train_translator": train_translator.run, "synthesize": synthesize.run,
          "train_recognizer_aug": train_recognizer_aug.run, "evaluate": evaluate.run}
