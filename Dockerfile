# One image for both services: `secmon-exporter serve` and `secmon-bridge serve`.
FROM python:3.11-slim
WORKDIR /opt/secmon
COPY pyproject.toml README.md ./
COPY exporter ./exporter
COPY bridge ./bridge
RUN pip install --no-cache-dir . && useradd --system --uid 10001 secmon
COPY rules /etc/secmon/rules
USER secmon
EXPOSE 9188 9189
