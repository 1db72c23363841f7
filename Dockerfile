# One image for every service (web, worker, beat, bot, release); the command picks the process type.
# Build: docker build -t socrate .   Local topology: docker compose -f docker-compose.dev.yml up
FROM python:3.11-slim

# opencv (pulled by memvid) needs libGL and glib at import time; Tesseract (English, Italian) reads
# scans and photos (about 30 MB with its language data).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
        tesseract-ocr tesseract-ocr-eng tesseract-ocr-ita \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    SOCRATE_VENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app

# Dependencies first so code changes reuse this layer. The CPU build of torch: the default index
# would pull a multi-GB CUDA build.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY requirements.txt ./
COPY scripts/bootstrap scripts/bootstrap
RUN TORCH_INDEX_URL="$TORCH_INDEX_URL" scripts/bootstrap

# No secrets in the image: every credential comes from the service's environment at run time.
RUN useradd --create-home --uid 10001 socrate && mkdir -p /app/data && chown socrate /app /app/data
COPY --chown=socrate . .
USER socrate

# Railway and Heroku set PORT; docker-compose.dev.yml sets it for the api service.
ENV PORT=8000
EXPOSE 8000
# The Procfile's web line (the compose file and Railway set each service's own command).
CMD ["bash", "-c", "gunicorn api_server:app --bind 0.0.0.0:$PORT --workers ${WEB_CONCURRENCY:-2} --timeout 120"]
