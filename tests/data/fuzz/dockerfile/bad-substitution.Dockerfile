FROM x
ENV A=${
ENV B=${:x} C="unterminated
WORKDIR ${NOPE:?is required}
COPY ${A#pat} /x
