#!/usr/bin/env bash
# hoist serve's S3 endpoint against real clients: awscli v2 (/usr/bin/aws)
# and s3cmd, over http on loopback.  Covers buckets, small and multipart
# objects (sha256 compared), listing, ranges, presigned URLs, wrong secrets,
# per-job keys and their expiry, and path traversal attempts.
. "$(dirname "$0")/lib.sh"

AWS=/usr/bin/aws
command -v "$AWS" >/dev/null || { echo "not ok - awscli v2 missing at $AWS (apt-get install awscli)"; exit 1; }
command -v s3cmd >/dev/null || { echo "not ok - s3cmd missing (apt-get install s3cmd)"; exit 1; }

# The environment may point AWS_CA_BUNDLE (and friends) at a proxy's CA; an
# http:// endpoint does not need it, and awscli fails when it is unreadable.
unset AWS_CA_BUNDLE AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
export AWS_CONFIG_FILE=$T_TMP/aws.cfg AWS_SHARED_CREDENTIALS_FILE=$T_TMP/aws.creds
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"

new_home
SERVE_HOME=$HOIST_HOME
# Started directly (not through the hoist() function) so $! is its pid.
SERVE_BIN=$HOIST_BIN/hoist
[ "${HOIST_VALGRIND:-0}" != 1 ] || SERVE_BIN=$T_TMP/vg-hoist
"$SERVE_BIN" serve --listen 127.0.0.1:0 --print-credentials >"$T_TMP/serve.out" 2>"$T_TMP/serve.err" &
SERVE_PID=$!
t_defer "kill -TERM $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null"
wait_for 10 grep -q '^secret_key=' "$T_TMP/serve.out" || { cat "$T_TMP/serve.err"; exit 1; }
PORT=$(sed -n "s|^hoist serve: S3 endpoint http://127.0.0.1:\([0-9]*\) (bucket 'hoist')$|\1|p" "$T_TMP/serve.out")
EP=http://127.0.0.1:$PORT
OWNER_AK=$(sed -n 's/^access_key=//p' "$T_TMP/serve.out")
OWNER_SK=$(sed -n 's/^secret_key=//p' "$T_TMP/serve.out")
export AWS_ACCESS_KEY_ID=$OWNER_AK AWS_SECRET_ACCESS_KEY=$OWNER_SK

a() { "$AWS" --endpoint-url "$EP" "$@"; }
s3c() { # s3cmd with the credentials in S3C_AK/S3C_SK (default: the owner's)
        s3cmd -c /dev/null --host="127.0.0.1:$PORT" --host-bucket="127.0.0.1:$PORT" --no-ssl \
                --access_key="${S3C_AK:-$OWNER_AK}" --secret_key="${S3C_SK:-$OWNER_SK}" "$@"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# grep -q in a pipeline under pipefail: reads all input so the writer never
# dies of SIGPIPE.
gq() { grep "$@" >/dev/null; }
# A job key: sets JOB_AK and JOB_SK.
issue_key() { # JOB-ID TTL
        local out
        out=$(HOIST_HOME=$SERVE_HOME hoist serve --issue-key "$1" --ttl "$2")
        JOB_AK=$(sed -n 's/^access_key=//p' <<<"$out")
        JOB_SK=$(sed -n 's/^secret_key=//p' <<<"$out")
        [ -n "$JOB_AK" ] && [ -n "$JOB_SK" ]
}

t_started() {
        [ -n "$PORT" ] || fail "no port printed"
        python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['pid']==int(sys.argv[2]) and j['endpoint']==sys.argv[3], j" \
                "$SERVE_HOME/serve/serve.json" "$SERVE_PID" "$EP"
        [ "$(stat -c %a "$SERVE_HOME/serve/owner.json")" = 600 ] || fail "owner.json is not 0600"
        ! grep -q "$OWNER_SK" "$T_TMP/serve.err" || fail "the secret reached the log"
}

t_buckets() {
        a s3 mb s3://it-bucket
        a s3 ls | gq ' it-bucket$' || fail "it-bucket not listed"
        a s3 ls | gq ' hoist$' || fail "default bucket not listed"
        a s3api head-bucket --bucket it-bucket
        out=$(a s3 mb s3://it-bucket 2>&1) && fail "second mb succeeded"
        grep -q BucketAlreadyOwnedByYou <<<"$out" || fail "no BucketAlreadyOwnedByYou: $out"
        code=$(curl -s -o "$T_TMP/ab" -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
                --user "$OWNER_AK:$OWNER_SK" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$EP/ab")
        [ "$code" = 400 ] && grep -q InvalidBucketName "$T_TMP/ab" || fail "bucket 'ab': $code"
        echo x | a s3 cp - s3://it-bucket/x
        out=$(a s3api delete-bucket --bucket it-bucket 2>&1) && fail "non-empty bucket deleted"
        grep -q BucketNotEmpty <<<"$out" || fail "no BucketNotEmpty: $out"
        a s3 rm s3://it-bucket/x
        a s3api delete-bucket --bucket it-bucket
        out=$(a s3 ls s3://it-bucket 2>&1) && fail "deleted bucket lists"
        grep -q NoSuchBucket <<<"$out" || fail "no NoSuchBucket: $out"
}

t_aws_small() {
        printf 'hello, hoist\n' >"$T_TMP/small.txt"
        a s3 cp "$T_TMP/small.txt" s3://hoist/t/small.txt
        a s3 cp s3://hoist/t/small.txt "$T_TMP/small.out"
        cmp "$T_TMP/small.txt" "$T_TMP/small.out"
        etag=$(a s3api head-object --bucket hoist --key t/small.txt --query ETag --output text)
        [ "$etag" = "\"$(md5sum "$T_TMP/small.txt" | cut -d' ' -f1)\"" ] || fail "etag $etag is not the md5"
}

t_aws_multipart() {
        head -c $((60 << 20)) /dev/urandom >"$T_TMP/big.bin"
        a s3 cp --only-show-errors "$T_TMP/big.bin" s3://hoist/t/big.bin
        etag=$(a s3api head-object --bucket hoist --key t/big.bin --query ETag --output text)
        [[ $etag == *-8\" ]] || fail "etag $etag is not a multipart etag of 8 parts"
        a s3 cp --only-show-errors s3://hoist/t/big.bin "$T_TMP/big.out"
        [ "$(sha "$T_TMP/big.bin")" = "$(sha "$T_TMP/big.out")" ] || fail "60 MiB object differs"
        rm -f "$T_TMP/big.out"
        [ -z "$(ls "$SERVE_HOME/serve/data/hoist/mpu")" ] || fail "upload directory left behind"
        [ -z "$(ls "$SERVE_HOME/serve/data/hoist/tmp")" ] || fail "temporary files left behind"
}

t_aws_list() {
        for k in l/a l/b/c l/b/d l/e/f "l/sp ace+plus"; do echo "$k" | a s3 cp - "s3://hoist/$k"; done
        a s3 ls --recursive s3://hoist/l/ >"$T_TMP/rec"
        [ "$(wc -l <"$T_TMP/rec")" = 5 ] || { cat "$T_TMP/rec"; fail "recursive list is not 5 keys"; }
        grep -q ' l/sp ace+plus$' "$T_TMP/rec" || fail "encoded key not listed back"
        a s3 ls s3://hoist/l/ >"$T_TMP/top"
        grep -q 'PRE b/' "$T_TMP/top" && grep -q 'PRE e/' "$T_TMP/top" || fail "no common prefixes"
        grep -q ' a$' "$T_TMP/top" || fail "l/a not listed at the top"
        [ "$(wc -l <"$T_TMP/top")" = 4 ] || { cat "$T_TMP/top"; fail "top level is not 4 lines"; }
        # paging: 5 keys, 2 per page
        n=$(a s3api list-objects-v2 --bucket hoist --prefix l/ --page-size 2 --query 'Contents[].Key' --output text | wc -l)
        [ "$n" = 3 ] || fail "paged v2 listing gave $n pages"
        n=$(a s3api list-objects-v2 --bucket hoist --prefix l/ --page-size 2 --query 'Contents[].Key' --output text | tr '\t' '\n' | grep -c .)
        [ "$n" = 5 ] || fail "paged v2 listing gave $n keys"
        n=$(a s3api list-objects --bucket hoist --prefix l/ --page-size 2 --query 'Contents[].Key' --output text | tr '\t' '\n' | grep -c .)
        [ "$n" = 5 ] || fail "paged v1 listing gave $n keys"
        n=$(a s3api list-objects-v2 --bucket hoist --prefix l/ --delimiter / --page-size 1 --query 'CommonPrefixes[].Prefix' --output text | tr '\t' '\n' | grep -vc '^None$')
        [ "$n" = 2 ] || fail "paged common prefixes gave $n"
        n=$(a s3api list-objects-v2 --bucket hoist --prefix l/ --start-after l/b/d --query 'length(Contents)' --output text)
        [ "$n" = 2 ] || fail "start-after gave $n keys"
}

t_aws_prefix_keys() {
        # "p" and "p/" and "p/q" are three objects
        for k in p p/ p/q; do
                echo "body of $k" >"$T_TMP/pk"
                a s3api put-object --bucket hoist --key "$k" --body "$T_TMP/pk" >/dev/null
        done
        for k in p p/ p/q; do
                a s3api get-object --bucket hoist --key "$k" "$T_TMP/pk" >/dev/null
                [ "$(cat "$T_TMP/pk")" = "body of $k" ] || fail "key '$k' reads '$(cat "$T_TMP/pk")'"
        done
}

t_aws_rm() {
        echo bye | a s3 cp - s3://hoist/t/gone
        a s3 rm s3://hoist/t/gone
        out=$(a s3api head-object --bucket hoist --key t/gone 2>&1) && fail "deleted key still there"
        grep -q '404' <<<"$out" || fail "no 404: $out"
        out=$(a s3api get-object --bucket hoist --key t/gone "$T_TMP/x" 2>&1) && fail "get of deleted key"
        grep -q NoSuchKey <<<"$out" || fail "no NoSuchKey: $out"
        a s3 rm --recursive s3://hoist/l/
        [ -z "$(a s3 ls --recursive s3://hoist/l/)" ] || fail "recursive rm left keys"
}

t_aws_range() {
        printf '0123456789' | a s3 cp - s3://hoist/t/digits
        a s3api get-object --bucket hoist --key t/digits --range bytes=2-5 "$T_TMP/r" >"$T_TMP/r.json"
        [ "$(cat "$T_TMP/r")" = 2345 ] || fail "range 2-5 gave $(cat "$T_TMP/r")"
        grep -q '"ContentRange": "bytes 2-5/10"' "$T_TMP/r.json" || fail "no Content-Range"
        a s3api get-object --bucket hoist --key t/digits --range bytes=-3 "$T_TMP/r" >/dev/null
        [ "$(cat "$T_TMP/r")" = 789 ] || fail "suffix range gave $(cat "$T_TMP/r")"
        out=$(a s3api get-object --bucket hoist --key t/digits --range bytes=20-30 "$T_TMP/r" 2>&1) &&
                fail "unsatisfiable range accepted"
        grep -q InvalidRange <<<"$out" || fail "no InvalidRange: $out"
}

t_presign() {
        printf 'presigned body' | a s3 cp - s3://hoist/t/pre
        url=$(a s3 presign s3://hoist/t/pre --expires-in 300)
        [ "$(curl -sf "$url")" = "presigned body" ] || fail "presigned GET failed"
        bad=${url/t\/pre/t\/prf}
        code=$(curl -s -o "$T_TMP/pre.err" -w '%{http_code}' "$bad")
        [ "$code" = 403 ] && grep -q SignatureDoesNotMatch "$T_TMP/pre.err" || fail "tampered URL: $code"
        ! grep -q "X-Amz-Signature" "$T_TMP/serve.err" || fail "a signature reached the log"
}

t_wrong_secret() {
        out=$(AWS_SECRET_ACCESS_KEY=wrong-secret a s3 ls s3://hoist 2>&1) && fail "wrong secret accepted"
        grep -q SignatureDoesNotMatch <<<"$out" || fail "no SignatureDoesNotMatch: $out"
        out=$(AWS_ACCESS_KEY_ID=AKIDUNKNOWN a s3 ls s3://hoist 2>&1) && fail "unknown key accepted"
        grep -q InvalidAccessKeyId <<<"$out" || fail "no InvalidAccessKeyId: $out"
        out=$(S3C_SK=wrong-secret s3c ls s3://hoist 2>&1) && fail "s3cmd: wrong secret accepted"
        grep -q SignatureDoesNotMatch <<<"$out" || fail "s3cmd: no SignatureDoesNotMatch: $out"
        code=$(curl -s -o "$T_TMP/anon" -w '%{http_code}' "$EP/hoist/t/small.txt")
        [ "$code" = 403 ] && grep -q AccessDenied "$T_TMP/anon" || fail "anonymous GET got $code"
}

t_content_sha256_mismatch() {
        printf 'abc' >"$T_TMP/abc"
        code=$(curl -s -o "$T_TMP/mm" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
                --user "$OWNER_AK:$OWNER_SK" \
                -H "x-amz-content-sha256: $(printf 'abd' | sha256sum | cut -d' ' -f1)" \
                -T "$T_TMP/abc" "$EP/hoist/t/mismatch")
        [ "$code" = 400 ] && grep -q XAmzContentSHA256Mismatch "$T_TMP/mm" || fail "mismatch: $code $(cat "$T_TMP/mm")"
        out=$(a s3api head-object --bucket hoist --key t/mismatch 2>&1) && fail "mismatched body stored"
        code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
                --user "$OWNER_AK:$OWNER_SK" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
                -T "$T_TMP/abc" "$EP/hoist/t/unsigned")
        [ "$code" = 200 ] || fail "UNSIGNED-PAYLOAD PUT got $code"
}

t_s3cmd() {
        head -c $((20 << 20)) /dev/urandom >"$T_TMP/m20.bin"
        printf 'via s3cmd\n' >"$T_TMP/s.txt"
        s3c put "$T_TMP/s.txt" s3://hoist/c/s.txt
        s3c get --force s3://hoist/c/s.txt "$T_TMP/s.out"
        cmp "$T_TMP/s.txt" "$T_TMP/s.out"
        s3c put --multipart-chunk-size-mb=5 "$T_TMP/m20.bin" s3://hoist/c/m20.bin
        etag=$(a s3api head-object --bucket hoist --key c/m20.bin --query ETag --output text)
        [[ $etag == *-4\" ]] || fail "s3cmd upload etag $etag is not 4 parts"
        s3c get --force s3://hoist/c/m20.bin "$T_TMP/m20.out"
        [ "$(sha "$T_TMP/m20.bin")" = "$(sha "$T_TMP/m20.out")" ] || fail "s3cmd 20 MiB differs"
        s3c ls s3://hoist/c/ | gq 's3://hoist/c/m20.bin' || fail "s3cmd ls lacks m20.bin"
        s3c del s3://hoist/c/s.txt
        ! s3c ls s3://hoist/c/ | gq 's.txt' || fail "s3cmd del left s.txt"
}

t_multipart_errors() {
        id=$(a s3api create-multipart-upload --bucket hoist --key t/mpu --query UploadId --output text)
        head -c 1024 /dev/urandom >"$T_TMP/p"
        e1=$(a s3api upload-part --bucket hoist --key t/mpu --upload-id "$id" --part-number 1 --body "$T_TMP/p" --query ETag --output text)
        e2=$(a s3api upload-part --bucket hoist --key t/mpu --upload-id "$id" --part-number 2 --body "$T_TMP/p" --query ETag --output text)
        a s3api list-parts --bucket hoist --key t/mpu --upload-id "$id" --query 'length(Parts)' --output text | gq -x 2 ||
                fail "list-parts is not 2"
        a s3api list-multipart-uploads --bucket hoist --query 'Uploads[].UploadId' --output text | gq "$id" ||
                fail "upload not listed"
        out=$(a s3api complete-multipart-upload --bucket hoist --key t/mpu --upload-id "$id" \
                --multipart-upload "{\"Parts\":[{\"PartNumber\":2,\"ETag\":$e2},{\"PartNumber\":1,\"ETag\":$e1}]}" 2>&1) &&
                fail "out-of-order parts accepted"
        grep -q InvalidPartOrder <<<"$out" || fail "no InvalidPartOrder: $out"
        out=$(a s3api complete-multipart-upload --bucket hoist --key t/mpu --upload-id "$id" \
                --multipart-upload "{\"Parts\":[{\"PartNumber\":1,\"ETag\":$e1},{\"PartNumber\":3,\"ETag\":$e2}]}" 2>&1) &&
                fail "missing part accepted"
        grep -q InvalidPart <<<"$out" || fail "no InvalidPart: $out"
        out=$(a s3api complete-multipart-upload --bucket hoist --key t/mpu --upload-id "$id" \
                --multipart-upload "{\"Parts\":[{\"PartNumber\":1,\"ETag\":$e1},{\"PartNumber\":2,\"ETag\":$e2}]}" 2>&1) &&
                fail "1 KiB first part accepted"
        grep -q EntityTooSmall <<<"$out" || fail "no EntityTooSmall: $out"
        a s3api abort-multipart-upload --bucket hoist --key t/mpu --upload-id "$id"
        out=$(a s3api list-parts --bucket hoist --key t/mpu --upload-id "$id" 2>&1) && fail "aborted upload lists"
        grep -q NoSuchUpload <<<"$out" || fail "no NoSuchUpload: $out"
}

t_job_key_scope() {
        echo blob | a s3 cp - s3://hoist/blobs/sha256/abc
        echo other | a s3 cp - s3://hoist/jobs/j-other/x
        issue_key j-1 600
        [ "$(stat -c %a "$SERVE_HOME/serve/keys/$JOB_AK.json")" = 600 ] || fail "key file is not 0600"
        echo mine | AWS_ACCESS_KEY_ID=$JOB_AK AWS_SECRET_ACCESS_KEY=$JOB_SK a s3 cp - s3://hoist/jobs/j-1/x
        [ "$(AWS_ACCESS_KEY_ID=$JOB_AK AWS_SECRET_ACCESS_KEY=$JOB_SK a s3 cp s3://hoist/jobs/j-1/x -)" = mine ] ||
                fail "job key cannot read its own object"
        [ "$(AWS_ACCESS_KEY_ID=$JOB_AK AWS_SECRET_ACCESS_KEY=$JOB_SK a s3 cp s3://hoist/blobs/sha256/abc -)" = blob ] ||
                fail "job key cannot read blobs/"
        AWS_ACCESS_KEY_ID=$JOB_AK AWS_SECRET_ACCESS_KEY=$JOB_SK a s3 ls s3://hoist/jobs/j-1/ | gq ' x$' ||
                fail "job key cannot list its prefix"
        out=$(echo no | AWS_ACCESS_KEY_ID=$JOB_AK AWS_SECRET_ACCESS_KEY=$JOB_SK a s3 cp - s3://hoist/jobs/j-other/x 2>&1) &&
                fail "job key wrote another job's prefix"
        grep -q AccessDenied <<<"$out" || fail "no AccessDenied: $out"
        out=$(AWS_ACCESS_KEY_ID=$JOB_AK AWS_SECRET_ACCESS_KEY=$JOB_SK a s3 cp s3://hoist/jobs/j-other/x - 2>&1) &&
                fail "job key read another job's object"
        grep -q '403\|AccessDenied' <<<"$out" || fail "no AccessDenied: $out"
        out=$(echo no | AWS_ACCESS_KEY_ID=$JOB_AK AWS_SECRET_ACCESS_KEY=$JOB_SK a s3 cp - s3://hoist/blobs/sha256/new 2>&1) &&
                fail "job key wrote blobs/"
        grep -q AccessDenied <<<"$out" || fail "no AccessDenied: $out"
        out=$(S3C_AK=$JOB_AK S3C_SK=$JOB_SK s3c mb s3://job-bucket 2>&1) && fail "job key created a bucket"
        grep -q AccessDenied <<<"$out" || fail "no AccessDenied: $out"
        out=$(AWS_ACCESS_KEY_ID=$JOB_AK AWS_SECRET_ACCESS_KEY=$JOB_SK a s3 ls s3://hoist/jobs/ 2>&1) &&
                fail "job key listed jobs/"
        grep -q AccessDenied <<<"$out" || fail "no AccessDenied: $out"
        [ "$(a s3 cp s3://hoist/jobs/j-other/x -)" = other ] || fail "other job's object changed"
}

t_job_key_expiry() {
        issue_key j-2 1
        sleep 2
        out=$(echo late | AWS_ACCESS_KEY_ID=$JOB_AK AWS_SECRET_ACCESS_KEY=$JOB_SK a s3 cp - s3://hoist/jobs/j-2/x 2>&1) &&
                fail "expired key accepted"
        grep -q ExpiredToken <<<"$out" || fail "no ExpiredToken: $out"
        out=$(HOIST_HOME=$SERVE_HOME hoist serve --issue-key ../x 2>&1) && fail "job id '../x' accepted"
        grep -q "job id" <<<"$out" || fail "no job id error: $out"
}

# Signed raw requests whose paths hold "..": curl keeps them with --path-as-is.
raw_put() { # PATH
        curl -s --path-as-is -o "$T_TMP/raw.out" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
                --user "$OWNER_AK:$OWNER_SK" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
                -T "$T_TMP/evil" "$EP$1"
}

t_traversal() {
        echo evil >"$T_TMP/evil"
        find "$T_TMP" -name 'pwned*' -delete
        for p in "/hoist/../../../pwned" "/hoist/a/../../pwned2" "/hoist/%2e%2e/%2e%2e/pwned3" \
                "/hoist/..%2f..%2fpwned4" "/../pwned5/x" "/hoist//etc/pwned6" "/hoist/x%00y"; do
                code=$(raw_put "$p")
                [ "$code" != 200 ] || fail "PUT '$p' accepted"
                [ "$code" != 000 ] || fail "PUT '$p': server gone"
        done
        [ -z "$(find / -xdev -name 'pwned*' -print -quit 2>/dev/null)" ] || fail "a file escaped the root"
        kill -0 "$SERVE_PID" || fail "server died"
        # what the root holds: bucket directories only
        for d in "$SERVE_HOME"/serve/data/*; do
                [ -d "$d/obj" ] || fail "unexpected entry $d in the storage root"
        done
}

t_shutdown() {
        kill -TERM "$SERVE_PID"
        for _ in $(seq 50); do pid_alive "$SERVE_PID" || break; sleep 0.1; done
        ! pid_alive "$SERVE_PID" || fail "serve did not stop on SIGTERM"
        grep -q "SIGTERM, shutting down" "$T_TMP/serve.err" || fail "no shutdown line"
        [ ! -e "$SERVE_HOME/serve/serve.json" ] || fail "serve.json left behind"
}

t_run "serve starts, writes serve.json, owner key 0600" t_started
t_run "buckets: mb, ls, head, exists, invalid name, not empty, delete" t_buckets
t_run "awscli: small object up and down, etag is the md5" t_aws_small
t_run "awscli: 60 MiB multipart up and down (sha256)" t_aws_multipart
t_run "awscli: ls recursive, delimiter, paging, start-after" t_aws_list
t_run "keys 'p', 'p/' and 'p/q' coexist" t_aws_prefix_keys
t_run "awscli: rm, rm --recursive, NoSuchKey" t_aws_rm
t_run "awscli: ranged get-object, suffix range, InvalidRange" t_aws_range
t_run "presigned GET with curl; tampered URL refused" t_presign
t_run "wrong secret, unknown key, anonymous refused" t_wrong_secret
t_run "x-amz-content-sha256 mismatch refused, UNSIGNED-PAYLOAD accepted" t_content_sha256_mismatch
t_run "s3cmd: put, get, ls, del, 20 MiB multipart" t_s3cmd
t_run "multipart: list parts/uploads, InvalidPartOrder, InvalidPart, EntityTooSmall, abort" t_multipart_errors
t_run "job key: own prefix rw, blobs/ read-only, others denied" t_job_key_scope
t_run "job key: expired key refused, bad job id refused" t_job_key_expiry
t_run "path traversal attempts refused, nothing outside the root" t_traversal
t_run "SIGTERM: clean exit, serve.json removed" t_shutdown
t_finish
