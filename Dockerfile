FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY cdc_bridge cdc_bridge
COPY table_api table_api
COPY connector connector
COPY schemas schemas
RUN pip install --no-cache-dir .
ENV CDC_BRIDGE_HOST=0.0.0.0 \
    CDC_BRIDGE_PORT=8000 \
    CDC_BRIDGE_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=2s --retries=12 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
ENTRYPOINT ["cdc-bridge"]
CMD ["table-api"]
