#!/usr/bin/env bash
# lib/s3 against a real S3 server that verifies SigV4 (Ceph radosgw, started
# once for the whole script): buckets, small and multipart objects, ranged
# GET, paginated listing, delete, a wrong secret, presigned URLs, and no
# multipart upload left behind when one fails.
. "$(dirname "$0")/lib.sh"

S3TOOL=
RGW=$T_TMP/rgw
BUCKET=hoist-it-bucket

# Built by `make integration` (tests/tools/s3tool.c against libhoist).
build_s3tool() {
        S3TOOL=$HOIST_BUILD/tests/s3tool
        [ -x "$S3TOOL" ] || { echo "no $S3TOOL (run 'make integration')"; return 1; }
}

setup() {
        build_s3tool || return 1
        start_rgw "$RGW"
}

s3() { "$S3TOOL" "$@"; }

t_bucket() {
        s3 mb "$BUCKET"
        s3 mb "$BUCKET" # again: already ours, not an error
        s3 lsb | grep_q -x "$BUCKET" || fail "ListBuckets lacks $BUCKET"
}

t_small_object() {
        printf 'hello, radosgw\n' >"$T_TMP/small"
        etag=$(s3 put "$BUCKET" "dir/small file.txt" "$T_TMP/small")
        [ "$etag" = "\"$(md5sum <"$T_TMP/small" | cut -d' ' -f1)\"" ] || fail "etag $etag"
        [ "$(s3 cat "$BUCKET" "dir/small file.txt")" = "hello, radosgw" ] || fail "cat differs"
        s3 get "$BUCKET" "dir/small file.txt" "$T_TMP/small.out"
        cmp "$T_TMP/small" "$T_TMP/small.out"
        [ "$(s3 head "$BUCKET" "dir/small file.txt" | cut -d' ' -f1)" = 15 ] || fail "HEAD size"
        [ "$(s3 head "$BUCKET" nope)" = absent ] || fail "HEAD of a missing key"
        ! s3 cat "$BUCKET" nope 2>"$T_TMP/err" || fail "GET of a missing key succeeded"
        grep -q "GET s3://$BUCKET/nope: 404 NoSuchKey" "$T_TMP/err" || fail "$(cat "$T_TMP/err")"
}

t_empty_object() {
        : >"$T_TMP/empty"
        s3 put "$BUCKET" empty "$T_TMP/empty" >/dev/null
        [ "$(s3 head "$BUCKET" empty | cut -d' ' -f1)" = 0 ] || fail "empty object size"
}

t_multipart_round_trip() {
        head -c $((50 * 1024 * 1024 + 4321)) /dev/urandom >"$T_TMP/big"
        etag=$(s3 put "$BUCKET" big.bin "$T_TMP/big")
        case $etag in *-7\") ;; *) fail "not a 7-part multipart etag: $etag" ;; esac
        s3 get "$BUCKET" big.bin "$T_TMP/big.out" # 50 MiB: parallel ranges
        [ "$(sha256sum <"$T_TMP/big" | cut -d' ' -f1)" = "$(sha256sum <"$T_TMP/big.out" | cut -d' ' -f1)" ] ||
                fail "sha256 differs after the round trip"
        [ -z "$(s3 uploads "$BUCKET")" ] || fail "uploads left over"
}

t_ranged_get() {
        s3 cat "$BUCKET" big.bin 10000000 4096 >"$T_TMP/range"
        dd if="$T_TMP/big" bs=4096 skip=0 iflag=skip_bytes,count_bytes skip=10000000 count=4096 \
                status=none >"$T_TMP/range.want"
        cmp "$T_TMP/range" "$T_TMP/range.want"
}

t_list_pagination() {
        python3 - "$T_TMP/keys" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1200):
        f.write("many/k%04d\n" % i)
PY
        : >"$T_TMP/one"
        xargs -P 16 -I{} "$S3TOOL" put "$BUCKET" {} "$T_TMP/one" <"$T_TMP/keys" >/dev/null
        s3 ls "$BUCKET" many/ 1000 >"$T_TMP/ls" 2>"$T_TMP/ls.err"
        grep -qx "pages 2" "$T_TMP/ls.err" || fail "$(cat "$T_TMP/ls.err")"
        [ "$(wc -l <"$T_TMP/ls")" = 1200 ] || fail "listed $(wc -l <"$T_TMP/ls") keys"
        cut -d' ' -f1 "$T_TMP/ls" | diff - "$T_TMP/keys"
}

t_delete() {
        s3 rm "$BUCKET" "dir/small file.txt"
        [ "$(s3 head "$BUCKET" "dir/small file.txt")" = absent ] || fail "still there"
        s3 rm "$BUCKET" "dir/small file.txt" # a missing key is not an error
}

t_wrong_secret() {
        ! AWS_SECRET_ACCESS_KEY=wrong-secret s3 ls "$BUCKET" 2>"$T_TMP/err" || fail "listed"
        grep -q "GET s3://$BUCKET/: 403 SignatureDoesNotMatch" "$T_TMP/err" || fail "$(cat "$T_TMP/err")"
        ! grep -q wrong-secret "$T_TMP/err" || fail "the secret is in the message"
}

t_presigned_get() {
        url=$(s3 presign GET "$BUCKET" big.bin 300)
        curl -sSf -o "$T_TMP/presigned" "$url"
        cmp "$T_TMP/big" "$T_TMP/presigned"
        code=$(curl -s -o /dev/null -w '%{http_code}' "${url/big.bin/other.bin}")
        [ "$code" = 403 ] || fail "a tampered URL got $code"
}

t_presigned_put() {
        url=$(s3 presign PUT "$BUCKET" via-presign 300)
        printf 'put by curl' | curl -sSf -X PUT --data-binary @- "$url"
        [ "$(s3 cat "$BUCKET" via-presign)" = "put by curl" ] || fail "content differs"
}

t_failed_multipart_leaves_nothing() {
        ! S3TOOL_CANCEL_AFTER=$((20 * 1024 * 1024)) s3 put "$BUCKET" cancelled.bin "$T_TMP/big" \
                2>"$T_TMP/err" || fail "the cancelled upload succeeded"
        grep -q "canceled" "$T_TMP/err" || fail "$(cat "$T_TMP/err")"
        [ -z "$(s3 uploads "$BUCKET")" ] || fail "an upload was left: $(s3 uploads "$BUCKET")"
        [ "$(s3 head "$BUCKET" cancelled.bin)" = absent ] || fail "the object exists"
        if command -v s3cmd >/dev/null; then
                host=${AWS_ENDPOINT_URL#http://}
                out=$(s3cmd --no-ssl --host="$host" --host-bucket="$host" \
                        --access_key="$AWS_ACCESS_KEY_ID" --secret_key="$AWS_SECRET_ACCESS_KEY" \
                        -c /dev/null multipart "s3://$BUCKET" 2>&1)
                ! grep -q cancelled.bin <<<"$out" || fail "s3cmd sees an upload: $out"
        fi
}

t_ca_bundle_with_http() {
        # The environment may point these at a bundle; a plain-http endpoint
        # must not care, even when the file does not exist.
        AWS_CA_BUNDLE=/nonexistent/ca.pem CURL_CA_BUNDLE=/nonexistent/ca.pem s3 lsb | grep_q -x "$BUCKET"
}

# lib/storage's s3:// backend, the interface the runner and entrypoint use:
# keys live under the URL's prefix, listing strips it, big files go multipart.
t_storage_backend() {
        st() { "$HOIST_BUILD/tests/storagetool" "s3://$BUCKET/store/p" "$@"; }
        [ -x "$HOIST_BUILD/tests/storagetool" ] || fail "no storagetool (run 'make integration')"
        printf '{"a": 1}' >"$T_TMP/job.json"
        st put jobs/j-1/job.json "$T_TMP/job.json"
        [ "$(st cat jobs/j-1/job.json)" = '{"a": 1}' ] || fail "cat differs"
        [ "$(s3 cat "$BUCKET" store/p/jobs/j-1/job.json)" = '{"a": 1}' ] || fail "not under the prefix"
        [ "$(st exists jobs/j-1/job.json)" = 8 ] || fail "exists size"
        [ "$(st exists jobs/j-1/nope)" = absent ] || fail "exists of a missing key"
        head -c $((20 << 20)) /dev/urandom >"$T_TMP/blob"
        st put blobs/sha256/x "$T_TMP/blob"
        st get blobs/sha256/x "$T_TMP/blob.out"
        cmp "$T_TMP/blob" "$T_TMP/blob.out" || fail "20 MiB round trip differs"
        [ "$(st ls jobs/ | tr '\n' ' ')" = "jobs/j-1/job.json " ] || fail "ls jobs/: $(st ls jobs/)"
        [ "$(st ls "" | wc -l)" = 2 ] || fail "ls of everything"
        st rm jobs/j-1/job.json
        [ "$(st exists jobs/j-1/job.json)" = absent ] || fail "rm left the object"
        ! st put ../escape "$T_TMP/job.json" 2>/dev/null || fail "a '..' key was accepted"
}

if ! setup >"$T_TMP/setup.log" 2>&1; then
        echo "not ok - setup: build s3tool and start radosgw"
        sed 's/^/    # /' "$T_TMP/setup.log" | tail -30
        T_FAILED=$((T_FAILED + 1))
        t_finish
        exit 1
fi
t_run "CreateBucket, ListBuckets" t_bucket
t_run "PUT, GET, HEAD of a small object; 404 NoSuchKey" t_small_object
t_run "PUT of an empty object" t_empty_object
t_run "50 MiB multipart upload and parallel GET round trip" t_multipart_round_trip
t_run "ranged GET" t_ranged_get
t_run "ListObjectsV2 pages through 1200 keys" t_list_pagination
t_run "DELETE" t_delete
t_run "wrong secret: 403 SignatureDoesNotMatch" t_wrong_secret
t_run "presigned GET fetched by curl" t_presigned_get
t_run "presigned PUT sent by curl" t_presigned_put
t_run "a failed multipart upload is aborted" t_failed_multipart_leaves_nothing
t_run "AWS_CA_BUNDLE does not affect an http endpoint" t_ca_bundle_with_http
t_run "lib/storage s3:// backend: prefix, list, multipart, exists, delete" t_storage_backend
t_finish
