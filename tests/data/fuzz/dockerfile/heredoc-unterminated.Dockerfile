FROM x
RUN <<EOF
never closed
