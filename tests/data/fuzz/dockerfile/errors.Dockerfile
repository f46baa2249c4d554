FROM x
COPY onlyone
