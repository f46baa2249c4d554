#!/usr/bin/env bash
# ceph-rgw.sh start DIR | stop DIR
#
# An S3 server that verifies SigV4: one Ceph mon, one memstore OSD and
# radosgw, all on 127.0.0.1 free ports with cephx off (shared/PEERS.md).
# `start` writes DIR/env with "endpoint=http://127.0.0.1:PORT access=AK
# secret=SK" once radosgw answers and the user exists; `stop` stops every
# daemon it started, by PID.
# Needs: apt-get install --no-install-recommends ceph-mon ceph-osd ceph-common radosgw
set -euo pipefail

ACCESS=HOISTTESTACCESSKEY01
SECRET=hoistTestSecretKey0123456789abcdefghijklm

. "$(cd "$(dirname "$0")" && pwd)/peerlib.sh"

die() {
        echo "ceph-rgw: $*" >&2
        exit 1
}

wait_port() { peer_wait "$2" port_open "$1"; } # PORT SECONDS

start() {
        local d=$1 fsid mon_port rgw_port osd_uuid osd_id
        for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph uuidgen; do
                command -v "$b" >/dev/null ||
                        die "'$b' is missing (apt-get install --no-install-recommends ceph-mon ceph-osd ceph-common radosgw uuid-runtime)"
        done
        mkdir -p "$d/run" "$d/log" "$d/rgw"
        d=$(cd "$d" && pwd)
        fsid=$(uuidgen)
        mon_port=$(free_port)
        rgw_port=$(free_port)
        cat >"$d/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr1 = false
run dir = $d/run
admin socket = $d/run/\$name.asok
log file = $d/log/\$name.log
mon data = $d/mon.\$id
osd data = $d/osd.\$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
[client.rgw]
ms mon client mode = crc
auth client required = none
rgw data = $d/rgw
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
CONF
        local conf=$d/ceph.conf
        monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" \
                "$d/monmap" >"$d/log/setup.log" 2>&1
        ceph-mon -c "$conf" --mkfs -i a --monmap "$d/monmap" >>"$d/log/setup.log" 2>&1
        ceph-mon -c "$conf" -i a -f >>"$d/log/daemons.log" 2>&1 &
        echo $! >"$d/mon.pid"
        wait_port "$mon_port" 30 || die "ceph-mon did not listen on $mon_port (see $d/log)"
        osd_uuid=$(uuidgen)
        osd_id=$(timeout 60 ceph -c "$conf" osd new "$osd_uuid" 2>>"$d/log/setup.log") ||
                die "ceph osd new failed (see $d/log/setup.log)"
        mkdir -p "$d/osd.$osd_id"
        ceph-osd -c "$conf" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >>"$d/log/setup.log" 2>&1
        ceph-osd -c "$conf" -i "$osd_id" -f >>"$d/log/daemons.log" 2>&1 &
        echo $! >"$d/osd.pid"
        radosgw -c "$conf" -n client.rgw -f >>"$d/log/daemons.log" 2>&1 &
        echo $! >"$d/rgw.pid"
        wait_port "$rgw_port" 90 || die "radosgw did not listen on $rgw_port (see $d/log)"
        timeout 60 radosgw-admin -c "$conf" user create --uid=tester --display-name=Tester \
                --access-key="$ACCESS" --secret-key="$SECRET" >>"$d/log/setup.log" 2>&1 ||
                die "radosgw-admin user create failed (see $d/log/setup.log)"
        echo "endpoint=http://127.0.0.1:$rgw_port access=$ACCESS secret=$SECRET" >"$d/env"
}

stop() {
        local d=$1 pid name
        for name in rgw osd mon; do
                [ -f "$d/$name.pid" ] || continue
                pid=$(cat "$d/$name.pid")
                kill "$pid" 2>/dev/null || true
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                kill -9 "$pid" 2>/dev/null || true
                rm -f "$d/$name.pid"
        done
}

[ $# -eq 2 ] || die "usage: ceph-rgw.sh start|stop DIR"
case $1 in
start) start "$2" ;;
stop) stop "$2" ;;
*) die "usage: ceph-rgw.sh start|stop DIR" ;;
esac
