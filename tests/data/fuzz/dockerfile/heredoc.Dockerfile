FROM debian
RUN <<EOF
apt-get update
apt-get install -y curl
EOF
RUN <<-'EOT' bash
	set -e
	echo "$HOME"
	EOT
RUN cat <<EOF > /etc/app.conf && cat 3<<-"B" >/b
key=value
EOF
	b=2
	B
COPY <<EOF /x
content
EOF
