FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=off
LABEL org.opencontainers.image.source="https://example.com/repo" \
      maintainer="ml team <ml@example.com>"
RUN apt-get update \
    # build deps
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY ["src/", "/app/src/"]
EXPOSE 8000/tcp 9000/udp
VOLUME ["/data"]
STOPSIGNAL SIGINT
CMD ["python", "-m", "src.train", "--epochs", "10"]
