# Bot image: Rasa server and the action server (same image, different commands).
# Build context: the repository root. A trained model must exist in models/ (`make train`).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=3 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    MPLBACKEND=Agg \
    HOME=/app

WORKDIR /app

# Rasa 3.6.21 declares python<3.11 but runs on 3.11; bot.lock was compiled for 3.10, so it is
# installed exactly as locked without re-resolving (--no-deps), as scripts/bootstrap.sh does.
RUN pip install --no-cache-dir uv==0.13.9
COPY requirements/bot.lock requirements/bot.lock
RUN uv pip install --system --no-cache --no-deps -r requirements/bot.lock

COPY bot/ bot/
# Compose-specific endpoints: the action server is the `actions` service, not 127.0.0.1.
COPY deploy/endpoints.compose.yml bot/endpoints.compose.yml
COPY models/ models/

RUN useradd --system --uid 10001 --home-dir /app atende && chown -R atende /app
USER atende

EXPOSE 5005 5055
CMD ["rasa", "run", "--enable-api", "-p", "5005", "-m", "models", \
     "--endpoints", "bot/endpoints.compose.yml", "--credentials", "bot/credentials.yml"]
