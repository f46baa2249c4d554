ARG BASE=alpine
ARG TAG
FROM ${BASE}:${TAG:-3.19}
ARG USER_NAME=app
ARG UID
ENV HOME=/home/${USER_NAME} UID=${UID:-1000} EMPTY= Q="a \"quoted\" $HOME" S='single $HOME'
ENV abc=hello
ENV abc=bye def=$abc
ENV LEGACY value with   spaces and $abc
WORKDIR ${HOME:+$HOME/work}
USER ${USER_NAME}:${GID-100}
COPY \$literal ${HOME}/
LABEL "key with space"="v" k2=${UNSET:-default} k3=${abc:?must be set}
EXPOSE ${PORT:-8080}
STOPSIGNAL ${SIG:-SIGTERM}
VOLUME $HOME/data /var/${abc}
