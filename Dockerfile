# gradscape: one stage on a slim Python, a non-root user, sessions on a volume.
#   docker build -t gradscape .
#   docker run -p 127.0.0.1:8000:8000 -v gradscape-data:/data gradscape
# It listens on every interface inside the container; publish it on loopback as above,
# or for a class set GRADSCAPE_TOKEN and GRADSCAPE_ALLOWED_HOSTS (see README "Serving").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GRADSCAPE_DB=/data/sessions.db \
    GRADSCAPE_FRONTEND=/app/frontend

RUN useradd --create-home --uid 1000 gradscape && mkdir /data && chown gradscape /data
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY backend ./backend
COPY frontend ./frontend
RUN pip install -c constraints.txt .

USER gradscape
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"
CMD ["gradscape", "serve", "--host", "0.0.0.0", "--port", "8000"]
