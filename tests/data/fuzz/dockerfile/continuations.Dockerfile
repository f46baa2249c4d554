  FROM   busybox   as   Final  
RUN echo a \
\
    b \   
# comment in the middle
    c
RUN echo trailing \
FROM x
RUN echo\


  # only
