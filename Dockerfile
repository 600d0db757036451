FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libmagic1 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/exchange
COPY pyproject.toml README.md ./
COPY src ./src
COPY migrations ./migrations
RUN pip install --no-cache-dir . && useradd --system --home /srv/exchange exchange \
    && mkdir -p /srv/exchange/storage && chown exchange /srv/exchange/storage
USER exchange
EXPOSE 8000
CMD ["exchange", "serve", "--host", "0.0.0.0", "--port", "8000"]
