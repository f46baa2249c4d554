FROM x
RUN ÿþ odd bytes Ã(
LABEL k=â‚¬
