# Hub image (Sanic app + `python -m handoff migrate`). Build context: the repository root.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# uv from PyPI, then the exact locked hub environment into the image's system Python.
RUN pip install --no-cache-dir uv==0.13.9
COPY requirements/hub.lock requirements/hub.lock
RUN uv pip sync --system --no-cache requirements/hub.lock

# Application code; bot/reasons.yml is the intent -> reason map the hub reads, bot/domain/*.yml
# the bot's answers staff may reword (data only; handoff.settings.REPO_ROOT resolves to /app).
COPY handoff/ handoff/
COPY connectors/ connectors/
COPY bot/reasons.yml bot/reasons.yml
COPY bot/domain/ bot/domain/
# the bot's red-flag rules (pure Python): the hub's safety net while every Rasa replica is down
COPY bot/clinic_nlu/ bot/clinic_nlu/

RUN useradd --system --uid 10001 --home-dir /app atende
USER atende

EXPOSE 8000
CMD ["python", "-m", "handoff", "serve"]
