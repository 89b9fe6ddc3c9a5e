# The E-Akte application image: web app (`eakte serve`) and worker (`eakte worker`).
FROM python:3.11-slim-bookworm

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    EAKTE_DATA_DIR=/var/lib/eakte

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng poppler-utils curl ca-certificates fonts-dejavu-core wngerman \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir uv==0.13.8 \
 && useradd --system --create-home --home-dir /home/eakte eakte \
 && mkdir -p /var/lib/eakte && chown eakte /var/lib/eakte

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY core core
COPY records records
COPY storage storage
COPY search search
COPY pdf pdf
COPY ingest ingest
COPY api api
COPY web web
COPY app app
RUN uv sync --frozen --no-dev

USER eakte
ENV PATH="/app/.venv/bin:$PATH"
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD curl -fsS http://127.0.0.1:8000/health || exit 1
CMD ["eakte", "serve", "--host", "0.0.0.0", "--port", "8000"]
