FROM --platform=linux/amd64 x AS a
FROM a AS b
COPY --from=a --chmod=0755 --chown="1000:1000" --link=true src /dst/
ADD --chown=1:1 archive.tar.gz /opt/
COPY -- --literal /x
COPY --unknown a b
