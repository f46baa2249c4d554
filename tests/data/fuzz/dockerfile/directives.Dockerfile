#Syntax = docker/dockerfile:1.7
# check=skip=all
#ESCAPE=\
# escape=`

FROM x
RUN a \
 b
