"""Clinic staff teach the bot (issue 11, items 4 and 5): a staff layer (JSON) merged with bot/data
into a temporary Rasa project, trained in the bot environment, evaluated against the current model
and gated. Nothing here writes into bot/.

- layer.py     the staff-layer format (load + shape) and the shared data readers
- validate.py  pure checks on a layer before training (pt-BR errors/warnings)
- merge.py     the temporary project (bot/ + the layer)
- evaluate.py  candidate vs current, side by side; the gate
- worker.py    CLI: merge -> train -> evaluate -> DIR/report.json, JSON progress lines on stdout
- bench.py     a generated 200-example layer and a timed worker run
"""
