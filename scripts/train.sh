#!/usr/bin/env bash
# Train the Rasa model only when the bot's content changed (content hash -> models/<hash>.tar.gz).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=bot RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1 PYTHONWARNINGS=ignore
# The custom NLU components (bot/clinic_nlu) are part of the model too.
hash=$( (echo bot/config.yml; find bot/domain bot/data -type f -name '*.yml'; find bot/clinic_nlu -name '*.py') \
        | sort | xargs sha256sum | sha256sum | cut -c1-16)
model="models/bot-${hash}.tar.gz"
if [ -f "$model" ]; then
  echo "model up to date: $model"
  exit 0
fi
mkdir -p models
start=$(date +%s)
.venv-bot/bin/rasa train --config bot/config.yml --domain bot/domain --data bot/data \
  --out models --fixed-model-name "bot-${hash}" --quiet
# Keep only the current model: `rasa run -m models` loads the newest file in the folder.
find models -name 'bot-*.tar.gz' ! -name "bot-${hash}.tar.gz" -delete
echo "trained $model in $(( $(date +%s) - start ))s ($(du -h "$model" | cut -f1))"
