# attrap: the scheduler daemon by default (`attrap run`); any other command can be given.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-fra \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 attrap
WORKDIR /app
COPY pyproject.toml README.md ./
COPY attrap ./attrap
COPY scrapers ./scrapers
COPY patterns ./patterns
COPY fixtures/sites ./fixtures/sites
RUN pip install --no-cache-dir '.[postgres]'

RUN mkdir -p /data && chown attrap:attrap /data
USER attrap
ENV ATTRAP_DATA_DIR=/data PYTHONUNBUFFERED=1
VOLUME ["/data"]
ENTRYPOINT ["attrap"]
CMD ["run"]
