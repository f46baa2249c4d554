FROM scratch
CMD []
ENTRYPOINT [ "a", "b\"c", "\u00e9", "tab\there" ]
RUN ["sh", "-c", "echo $HOME"]
RUN [ "not", json ]
CMD ["a" "b"]
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
VOLUME ["/a", "/b"]
COPY ["a b", "c d", "/dest dir/"]
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD ["curl", "-f", "http://localhost/"]
HEALTHCHECK NONE
